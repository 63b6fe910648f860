// Cards under a reply: hotels and restaurants as a horizontally scrollable row, routes as a compact timeline,
// and the files the code interpreter wrote (images inline, everything downloadable).
//
// Every value comes from a travel API or the model, so every value is set as text (textContent) or as an
// attribute of an element made here; nothing is parsed as HTML. Links are followed only when they are https;
// images load only from the travel APIs' image hosts (the server drops anything else, this checks again, and the
// page's CSP img-src is the third line). Keep IMAGE_HOSTS in step with travel_assistant/cards/links.py.

import { lang, t } from "./i18n.js";

export const IMAGE_HOSTS = ["img.travel.rakuten.co.jp", "trvimg.r10s.jp", "imgfp.hotp.jp"];
const IMAGE_WIDTH = 240;
const IMAGE_HEIGHT = 160;

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

export function httpsUrl(raw) {
  if (typeof raw !== "string") return null;
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  return url.protocol === "https:" && url.hostname && !url.username && !url.password ? url.href : null;
}

export function imageUrl(raw) {
  const href = httpsUrl(raw);
  return href && IMAGE_HOSTS.includes(new URL(href).hostname.toLowerCase()) ? href : null;
}

function link(text, raw, className) {
  const href = httpsUrl(raw);
  if (!href) return null;
  const a = node("a", className || "card-link", text);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

// The map link is built here from the coordinates (Google Maps URLs, api=1), not taken from the data.
function mapUrl(latitude, longitude) {
  if (!isNumber(latitude) || !isNumber(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null;
  const query = new URLSearchParams({ api: "1", query: `${latitude.toFixed(6)},${longitude.toFixed(6)}` });
  return `https://www.google.com/maps/search/?${query}`;
}

const yen = (value) => `¥${Number(value).toLocaleString(lang === "ja" ? "ja-JP" : "en-US")}`;
const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

function placeholder() {
  const box = node("div", "card-image placeholder", t.cards.noImage);
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", t.cards.noImage);
  return box;
}

// A lazy image with its size set (no layout jump), alt text, and a neutral placeholder if it fails.
function picture(raw, alt) {
  const src = imageUrl(raw);
  if (!src) return placeholder();
  const img = node("img", "card-image");
  img.loading = "lazy";
  img.decoding = "async";
  img.width = IMAGE_WIDTH;
  img.height = IMAGE_HEIGHT;
  img.alt = alt || "";
  img.referrerPolicy = "no-referrer";
  img.addEventListener("error", () => img.replaceWith(placeholder()), { once: true });
  img.src = src;
  return img;
}

function line(className, text) {
  return text === undefined || text === null || text === "" ? null : node("p", className, text);
}

function links(...anchors) {
  const row = node("div", "card-links");
  row.append(...anchors.filter(Boolean));
  return row.childElementCount ? row : null;
}

function hotelCard(item) {
  const card = node("li", "card hotel");
  card.append(picture(item.image_url || item.thumbnail_url, item.name));
  const body = node("div", "card-body");
  body.append(node("h4", "card-title", item.name));
  if (isNumber(item.review_average)) {
    const count = isNumber(item.review_count) ? ` (${t.cards.reviews(item.review_count)})` : "";
    body.append(node("p", "card-rating", `★ ${item.review_average.toFixed(2)}${count}`));
  }
  if (isNumber(item.lowest_charge)) {
    const unit = item.charge_unit === "per person" ? t.cards.perPerson : item.charge_unit === "per room" ? t.cards.perRoom : "";
    body.append(node("p", "card-price", `${yen(item.lowest_charge)}〜${unit ? ` / ${unit}` : ""}`));
  }
  const extras = [
    line("card-plan", item.plan_name),
    line("card-meta", item.access),
    line("card-meta", [item.nearest_station && `${t.cards.station}: ${item.nearest_station}`,
      isNumber(item.distance_m) && t.cards.distance(item.distance_m)].filter(Boolean).join(" · ")),
    links(link(t.cards.book, item.booking_url, "card-link primary"), link(t.cards.details, item.information_url),
      link(t.cards.map, mapUrl(item.latitude, item.longitude))),
  ];
  body.append(...extras.filter(Boolean));
  card.append(body);
  return card;
}

function restaurantCard(item) {
  const card = node("li", "card restaurant");
  card.append(picture(item.photo_url, item.name));
  const body = node("div", "card-body");
  body.append(node("h4", "card-title", item.name));
  const extras = [
    line("card-meta strong", [item.genre, item.budget].filter(Boolean).join(" · ")),
    line("card-meta", item.open && `${t.cards.hours}: ${item.open}`),
    line("card-meta", item.station && `${t.cards.station}: ${item.station}`),
    line("card-meta", item.address),
    links(link(t.cards.hotpepper, item.url, "card-link primary"), link(t.cards.map, mapUrl(item.latitude, item.longitude))),
  ];
  body.append(...extras.filter(Boolean));
  card.append(body);
  return card;
}

function duration(minutes) {
  if (!isNumber(minutes)) return null;
  const hours = Math.floor(minutes / 60);
  return t.cards.duration(hours, minutes % 60);
}

function routeTimeline(summary) {
  const box = node("div", "route");
  for (const trip of summary.items || []) {
    const section = node("section", "route-trip");
    const label = trip.trip === "return" ? t.cards.returnTrip : t.cards.outbound;
    section.append(node("h4", "route-title", `${label}: ${trip.from || ""} → ${trip.to || ""}${trip.date ? ` (${trip.date})` : ""}`));
    const courses = node("ol", "route-courses");
    for (const course of trip.courses || []) {
      const item = node("li", "route-course");
      const head = [course.departure && course.arrival ? `${course.departure} → ${course.arrival}` : null,
        duration(course.minutes), isNumber(course.transfers) ? t.cards.transfers(course.transfers) : null,
        isNumber(course.fare_per_adult) ? `${yen(course.fare_per_adult)} ${t.cards.perAdult}` : null,
        isNumber(course.fare_total) && summary.passengers > 1 ? `${t.cards.total} ${yen(course.fare_total)}` : null];
      item.append(node("p", "route-head", head.filter(Boolean).join(" · ")));
      const legs = node("ol", "timeline");
      for (const leg of course.legs || []) {
        const step = node("li", `leg mode-${String(leg.mode || "other").replace(/[^a-z]/g, "") || "other"}`);
        step.append(node("span", "leg-time", leg.departure || ""), node("span", "leg-station", leg.from || ""),
          node("span", "leg-line", [leg.line, leg.mode && t.cards.mode(leg.mode)].filter(Boolean).join(" · ")));
        legs.append(step);
      }
      const last = (course.legs || []).at(-1);
      if (last) {
        const end = node("li", "leg arrival");
        end.append(node("span", "leg-time", last.arrival || ""), node("span", "leg-station", last.to || ""));
        legs.append(end);
      }
      item.append(legs);
      courses.append(item);
    }
    section.append(courses);
    box.append(section);
  }
  return box;
}

function omitted(summary) {
  return summary.omitted > 0 ? node("p", "muted", t.cards.omitted(summary.omitted)) : null;
}

// One block per tool call's summary: its title, then a card row or a timeline.
export function renderCards(summaries) {
  const fragment = document.createDocumentFragment();
  for (const summary of summaries || []) {
    if (!summary || !Array.isArray(summary.items) || !summary.items.length) continue;
    const block = node("section", `cards-block ${summary.kind}`);
    block.dataset.kind = String(summary.kind);
    if (summary.kind === "hotels" || summary.kind === "restaurants") {
      block.append(node("h3", "cards-title", summary.kind === "hotels" ? t.cards.hotels : t.cards.restaurants));
      const row = node("ul", "card-row");
      row.setAttribute("aria-label", summary.kind === "hotels" ? t.cards.hotels : t.cards.restaurants);
      row.tabIndex = 0; // scrollable by keyboard
      row.append(...summary.items.map(summary.kind === "hotels" ? hotelCard : restaurantCard));
      block.append(row);
      if (summary.kind === "restaurants") block.append(node("p", "credit", "Powered by ホットペッパー Webサービス"));
    } else if (summary.kind === "routes") {
      block.append(node("h3", "cards-title", t.cards.routes), routeTimeline(summary));
    } else {
      continue;
    }
    const more = omitted(summary);
    if (more) block.append(more);
    fragment.append(block);
  }
  return fragment;
}

// The code interpreter's files. loadFile(fileId) resolves to a Blob (the API needs the function key header, so
// an <img src> or <a href> to the route could not send it): images show inline from a blob: URL, and every
// file has a download button.
export function renderFiles(files, loadFile, onError) {
  const box = node("div", "files");
  for (const file of files || []) {
    if (!file || typeof file.id !== "string") continue;
    const row = node("div", "file");
    row.dataset.fileId = file.id;
    const button = node("button", "button secondary file-download", `⬇ ${t.cards.download}: ${file.name}`);
    button.type = "button";
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const blob = await loadFile(file.id);
        const url = URL.createObjectURL(blob);
        const a = node("a");
        a.href = url;
        a.download = String(file.name || "file");
        a.hidden = true;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 30_000);
      } catch (error) {
        onError(error);
      } finally {
        button.disabled = false;
      }
    });
    if (file.inline === true && /^image\/(png|jpeg|gif|webp)$/.test(file.content_type)) {
      const figure = node("figure", "file-image");
      const img = node("img", "chart");
      img.alt = String(file.name || "");
      img.width = 480;
      img.height = 320;
      figure.append(img, node("figcaption", "muted", file.name));
      row.append(figure);
      loadFile(file.id).then((blob) => {
        img.src = URL.createObjectURL(blob);
      }).catch(() => img.replaceWith(placeholder()));
    }
    row.append(button);
    box.append(row);
  }
  return box;
}
