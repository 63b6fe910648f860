// The page's words in Japanese (first) and English. The language follows the browser: the first of its
// preferred languages that the page knows wins, and Japanese is the default, because the users are employees
// in Japan. ?lang=en or ?lang=ja overrides it (handy for sharing a screenshot).

const STRINGS = {
  ja: {
    appTitle: "出張アシスタント",
    newThread: "新しい会話",
    threads: "会話の履歴",
    noThreads: "まだ会話はありません",
    toggleThreads: "会話の履歴を表示",
    deleteThread: "この会話を削除",
    confirmDelete: "この会話を削除しますか？元に戻せません。",
    settings: "関数キー",
    placeholder: "メッセージを入力（Enter で送信、Shift+Enter で改行）",
    messageLabel: "メッセージ",
    send: "送信",
    cancel: "停止",
    you: "あなた",
    assistant: "アシスタント",
    welcome: "出張の宿泊・飲食店・経路探しをお手伝いします。例：「2/14に大阪駅近辺で1人で泊まれるビジネスホテルを探しています」",
    loading: "読み込み中…",
    phase: {
      queued: "送信しました…",
      starting: "開始しています…",
      thinking: "考えています…",
      running_tools: "検索中：",
      tools_finished: "検索が終わりました。回答をまとめています…",
      waiting_to_retry: "混み合っているため再試行を待っています…",
      cancelling: "停止しています…",
      finishing: "仕上げています…",
      done: "完了",
    },
    toolsDone: "完了したツール",
    toolFailed: "失敗",
    usedTools: "使ったツール",
    cancelled: "回答を停止しました。",
    failed: "回答できませんでした",
    turnActive: "この会話は前のメッセージにまだ回答中です。その回答が終わってから送ってください。",
    sendFailed: "送信できませんでした",
    networkError: "サーバーに接続できません。接続を確認してください。",
    retrying: "接続を再試行しています…",
    keyRequired: "この API には関数キーが必要です。Azure portal の関数アプリの「アプリ キー」で確認できるキーを入力してください。",
    signInRequired: "サインインが必要です。ページを再読み込みしてサインインしてください。",
    keyTitle: "関数キー",
    keyHelp: "Azure にデプロイした API が関数キーを求めるときだけ必要です（func start では不要）。キーはこのブラウザーの localStorage に保存され、x-functions-key ヘッダーで送られます。",
    keyLabel: "関数キー",
    keySave: "保存",
    keyClear: "消去",
    keyClose: "閉じる",
    keySaved: "関数キーを保存しました。",
    keyCleared: "関数キーを消去しました。",
    threadGone: "この会話は見つかりません（削除された可能性があります）。",
    dismiss: "閉じる",
    fileFailed: "ファイルを取得できませんでした",
    cards: {
      hotels: "ホテル候補",
      restaurants: "お店の候補",
      routes: "経路",
      noImage: "画像なし",
      reviews: (count) => `${Number(count).toLocaleString("ja-JP")}件`,
      perPerson: "1名",
      perRoom: "1室",
      station: "最寄り駅",
      distance: (metres) => (metres >= 1000 ? `約${(metres / 1000).toFixed(1)}km` : `約${metres}m`),
      book: "予約する",
      details: "詳細",
      map: "地図",
      hours: "営業時間",
      hotpepper: "ホットペッパーで見る",
      outbound: "往路",
      returnTrip: "復路",
      duration: (hours, minutes) => (hours ? `${hours}時間${minutes}分` : `${minutes}分`),
      transfers: (count) => `乗換${count}回`,
      perAdult: "/ 大人1名",
      total: "合計",
      mode: (mode) => ({ shinkansen: "新幹線", train: "在来線", plane: "飛行機", bus: "バス", walk: "徒歩",
        limitedExpress: "特急" }[mode] || mode),
      omitted: (count) => `ほか${count}件は省略しました`,
      download: "ダウンロード",
    },
  },
  en: {
    appTitle: "Business Trip Assistant",
    newThread: "New chat",
    threads: "Chats",
    noThreads: "No chats yet",
    toggleThreads: "Show chats",
    deleteThread: "Delete this chat",
    confirmDelete: "Delete this chat? This cannot be undone.",
    settings: "Function key",
    placeholder: "Type a message (Enter to send, Shift+Enter for a new line)",
    messageLabel: "Message",
    send: "Send",
    cancel: "Stop",
    you: "You",
    assistant: "Assistant",
    welcome: "I can help you find hotels, restaurants and routes for business trips. For example: \"A business hotel near Osaka station for one on 2/14\".",
    loading: "Loading…",
    phase: {
      queued: "Sent…",
      starting: "Starting…",
      thinking: "Thinking…",
      running_tools: "Searching: ",
      tools_finished: "Search done; writing the answer…",
      waiting_to_retry: "The service is busy; waiting to retry…",
      cancelling: "Stopping…",
      finishing: "Finishing…",
      done: "Done",
    },
    toolsDone: "Finished tools",
    toolFailed: "failed",
    usedTools: "Tools used",
    cancelled: "The answer was stopped.",
    failed: "Could not answer",
    turnActive: "This chat is still answering an earlier message. Send yours when that answer is done.",
    sendFailed: "Could not send",
    networkError: "Cannot reach the server. Check your connection.",
    retrying: "Reconnecting…",
    keyRequired: "This API needs a function key. Paste a key from the function app's App keys page in the Azure portal.",
    signInRequired: "Sign-in required. Reload the page and sign in.",
    keyTitle: "Function key",
    keyHelp: "Only needed when the API deployed on Azure asks for a function key (not under func start). The key is kept in this browser's localStorage and sent as the x-functions-key header.",
    keyLabel: "Function key",
    keySave: "Save",
    keyClear: "Clear",
    keyClose: "Close",
    keySaved: "The function key was saved.",
    keyCleared: "The function key was cleared.",
    threadGone: "This chat was not found (it may have been deleted).",
    dismiss: "Dismiss",
    fileFailed: "Could not get the file",
    cards: {
      hotels: "Hotels",
      restaurants: "Restaurants",
      routes: "Routes",
      noImage: "No image",
      reviews: (count) => `${Number(count).toLocaleString("en-US")} reviews`,
      perPerson: "person",
      perRoom: "room",
      station: "Station",
      distance: (metres) => (metres >= 1000 ? `about ${(metres / 1000).toFixed(1)} km` : `about ${metres} m`),
      book: "Book",
      details: "Details",
      map: "Map",
      hours: "Hours",
      hotpepper: "View on Hotpepper",
      outbound: "Outbound",
      returnTrip: "Return",
      duration: (hours, minutes) => (hours ? `${hours} h ${minutes} min` : `${minutes} min`),
      transfers: (count) => `${count} transfer${count === 1 ? "" : "s"}`,
      perAdult: "per adult",
      total: "total",
      mode: (mode) => ({ shinkansen: "Shinkansen", train: "train", plane: "flight", bus: "bus", walk: "walk",
        limitedExpress: "limited express" }[mode] || mode),
      omitted: (count) => `${count} more not shown`,
      download: "Download",
    },
  },
};

// Tool names are the model's function names; people see what the tool does.
const TOOL_LABELS = {
  ja: {
    search_hotpepper_shops: "飲食店検索",
    search_vacant_hotels: "空室ホテル検索",
    searchTransportation: "経路検索",
    code_interpreter: "計算（コード実行）",
  },
  en: {
    search_hotpepper_shops: "Restaurant search",
    search_vacant_hotels: "Hotel search",
    searchTransportation: "Route search",
    code_interpreter: "Calculation (code)",
  },
};

export function pickLanguage(preferred, override) {
  if (override === "ja" || override === "en") return override;
  for (const tag of preferred || []) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in STRINGS) return base;
  }
  return "ja";
}

export const lang = pickLanguage(navigator.languages || [navigator.language],
  new URLSearchParams(location.search).get("lang"));

export const t = STRINGS[lang];

export function toolLabel(name) {
  return TOOL_LABELS[lang][name] || String(name);
}

// One line that says where a turn is, from the progress object of GET /api/chat/{turn_id}.
export function progressLine(progress) {
  if (!progress || typeof progress !== "object") return t.phase.starting;
  const phase = progress.phase;
  if (phase === "running_tools") {
    const running = (progress.tools && progress.tools.running) || [];
    // The round's tools have all answered and their results are on their way to the model.
    if (!running.length) return t.phase.tools_finished;
    return t.phase.running_tools + running.map(toolLabel).join(lang === "ja" ? "、" : ", ");
  }
  return t.phase[phase] || t.phase.thinking;
}
