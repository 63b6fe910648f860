// Renders the assistant's reply (Markdown-like text from the model) into DOM nodes.
//
// Model text is never parsed as HTML: every piece of it goes into the page through textContent or a text
// node, and only the structure this file recognises (paragraphs, lists, tables, headings, code, bold, links)
// becomes elements. So "<img onerror=...>" in a reply shows as those characters. Links are kept only when
// they are absolute http(s) URLs, and open in a new tab without access to this page (rel=noopener).

const TABLE_SEPARATOR = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const BULLET = /^\s*(?:[-*+・•])\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,3})[.)]\s+(.*)$/;
const HEADING = /^\s*(#{1,4})\s+(.*)$/;
const RULE = /^\s*(?:-{3,}|\*{3,}|_{3,})\s*$/;
const FENCE = /^\s*```/;

// Inline: `code`, **bold**, [text](url), and bare URLs (ASCII only, so a URL followed by Japanese text ends
// where the Japanese begins).
const INLINE = /`([^`\n]+)`|\*\*(.+?)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&'*+,;=%]+)/g;
const TRAILING_PUNCTUATION = /[.,;:!?'\]]+$/;

export function safeHref(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null; // relative or malformed: nothing to link to
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

function link(text, href) {
  const a = document.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  a.textContent = text;
  return a;
}

export function appendInline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    last = match.index + match[0].length;
    const [, code, bold, linkText, linkUrl, bareUrl] = match;
    if (code !== undefined) {
      const el = document.createElement("code");
      el.textContent = code;
      parent.append(el);
    } else if (bold !== undefined) {
      const el = document.createElement("strong");
      appendInline(el, bold);
      parent.append(el);
    } else if (linkText !== undefined) {
      const href = safeHref(linkUrl);
      parent.append(href ? link(linkText, href) : linkText);
    } else {
      const trailing = (bareUrl.match(TRAILING_PUNCTUATION) || [""])[0];
      const url = trailing ? bareUrl.slice(0, -trailing.length) : bareUrl;
      const href = safeHref(url);
      parent.append(href ? link(url, href) : url);
      if (trailing) parent.append(trailing);
    }
  }
  if (last < text.length) parent.append(text.slice(last));
}

function cells(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|")) row = row.slice(0, -1);
  return row.split("|").map((cell) => cell.trim());
}

function table(header, rows) {
  const wrap = document.createElement("div");
  wrap.className = "table-wrap"; // scrolls sideways on a phone instead of widening the page
  const el = document.createElement("table");
  const head = el.createTHead().insertRow();
  for (const text of header) {
    const th = document.createElement("th");
    appendInline(th, text);
    head.append(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (let i = 0; i < header.length; i += 1) appendInline(tr.insertCell(), row[i] || "");
  }
  wrap.append(el);
  return wrap;
}

function list(ordered, items, start) {
  const el = document.createElement(ordered ? "ol" : "ul");
  if (ordered && start !== 1) el.start = start;
  for (const item of items) {
    const li = document.createElement("li");
    appendInline(li, item);
    el.append(li);
  }
  return el;
}

function paragraph(lines) {
  const p = document.createElement("p");
  lines.forEach((line, i) => {
    if (i > 0) p.append(document.createElement("br"));
    appendInline(p, line);
  });
  return p;
}

export function renderText(text) {
  const out = document.createDocumentFragment();
  const lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  let para = [];
  const flush = () => {
    if (para.length) out.append(paragraph(para));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    if (FENCE.test(line)) {
      flush();
      const code = [];
      i += 1;
      while (i < lines.length && !FENCE.test(lines[i])) code.push(lines[i++]);
      i += 1; // the closing fence (or the end)
      const pre = document.createElement("pre");
      const el = document.createElement("code");
      el.textContent = code.join("\n");
      pre.append(el);
      out.append(pre);
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1])) {
      flush();
      const header = cells(line);
      const rows = [];
      i += 2;
      while (i < lines.length && lines[i].includes("|") && lines[i].trim()) rows.push(cells(lines[i++]));
      out.append(table(header, rows));
      continue;
    }
    const bullet = line.match(BULLET);
    const numbered = line.match(NUMBERED);
    if (bullet || numbered) {
      flush();
      const ordered = !bullet;
      const pattern = ordered ? NUMBERED : BULLET;
      const start = ordered ? Number(numbered[1]) : 1;
      const items = [];
      while (i < lines.length) {
        const m = lines[i].match(pattern);
        if (!m || (!ordered && RULE.test(lines[i]))) break;
        items.push(ordered ? m[2] : m[1]);
        i += 1;
      }
      out.append(list(ordered, items, start));
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      flush();
      const el = document.createElement(`h${Math.min(6, heading[1].length + 2)}`);
      appendInline(el, heading[2]);
      out.append(el);
    } else if (RULE.test(line)) {
      flush();
      out.append(document.createElement("hr"));
    } else if (!line.trim()) {
      flush();
    } else {
      para.push(line);
    }
    i += 1;
  }
  flush();
  return out;
}
