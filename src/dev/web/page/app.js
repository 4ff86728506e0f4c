// switchboard dev: the simulated Mattermost in a page. No framework: the DOM is built with
// createElement and textContent; the only HTML strings are made by `markdown()`, which
// escapes the text first and then adds a fixed set of tags.
"use strict";

const state = {
  world: null,
  me: "alice",
  channel: "town-square",
  rootId: "",
  posts: new Map(),          // id -> post (stored posts of every channel)
  ephemeral: [],             // ephemeral posts: {post, user_id}
  directs: new Map(),        // direct channel id -> its two members' user ids
  dialogs: new Map(),        // user id -> opened dialog waiting for that user
  acSelected: 0,
  unread: new Set(),         // channel names with posts not seen yet
  chosen: new Map(),         // "post id/action id" -> the option chosen in that menu
};

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// ---- Markdown (common cases, as Mattermost renders them) ----

const EMOJI = {
  smile: "😄", smiley: "😃", grin: "😁", joy: "😂", wink: "😉", slightly_smiling_face: "🙂",
  thumbsup: "👍", "+1": "👍", thumbsdown: "👎", "-1": "👎", ok_hand: "👌", wave: "👋", clap: "👏",
  tada: "🎉", rocket: "🚀", fire: "🔥", heart: "❤️", eyes: "👀", star: "⭐", sparkles: "✨",
  white_check_mark: "✅", heavy_check_mark: "✔️", ballot_box_with_check: "☑️", x: "❌",
  warning: "⚠️", no_entry: "⛔", rotating_light: "🚨", bell: "🔔", hourglass: "⌛",
  hourglass_flowing_sand: "⏳", stopwatch: "⏱️", calendar: "📅", pager: "📟", bar_chart: "📊",
  ballot_box: "🗳️", construction: "🚧", bug: "🐛", lock: "🔒", key: "🔑", wrench: "🔧",
  gear: "⚙️", package: "📦", memo: "📝", pushpin: "📌", link: "🔗", question: "❓",
  exclamation: "❗", red_circle: "🔴", large_green_circle: "🟢", large_blue_circle: "🔵",
  yellow_circle: "🟡", arrow_right: "➡️", point_right: "👉", coffee: "☕", sunny: "☀️",
  zap: "⚡", boom: "💥", skull: "💀", robot: "🤖", speech_balloon: "💬", mag: "🔍",
};

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function safeUrl(url) {
  // `url` is already HTML-escaped; only web and mail links become links.
  return /^(https?:\/\/|mailto:)/i.test(url) ? url : null;
}

function markdown(text) {
  const out = [];
  const parts = String(text || "").split(/(```[\s\S]*?```)/g);
  const isCode = (p) => p !== undefined && p.startsWith("```") && p.endsWith("```") && p.length >= 6;
  parts.forEach((part, i) => {
    if (isCode(part)) {
      const body = part.slice(3, -3).replace(/^[^\n]*\n/, (first) => (/^\w*\n$/.test(first) ? "" : first));
      out.push("<pre><code>" + escapeHtml(body) + "</code></pre>");
    } else {
      // A block already breaks the line: no blank line beside it.
      let text = part;
      if (isCode(parts[i - 1])) text = text.replace(/^\n/, "");
      if (isCode(parts[i + 1])) text = text.replace(/\n$/, "");
      out.push(inline(text));
    }
  });
  return out.join("");
}

function inline(text) {
  const held = [];
  const hold = (html) => "\u0000" + (held.push(html) - 1) + "\u0000";
  let s = String(text).replace(/`([^`\n]+)`/g, (_, code) => hold("<code>" + escapeHtml(code) + "</code>"));
  s = escapeHtml(s);
  s = s.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (m, label, url) => {
    const href = safeUrl(url);
    return href ? hold('<a href="' + href + '" target="_blank" rel="noopener noreferrer">' + label + "</a>") : m;
  });
  s = s.replace(/(^|[\s(])((?:https?:\/\/)[^\s<]+[^\s<.,;:!?)])/g, (m, pre, url) =>
    pre + hold('<a href="' + url + '" target="_blank" rel="noopener noreferrer">' + url + "</a>"));
  s = s.replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>");
  s = s.replace(/(^|[^\w])__([^_\n]+)__(?!\w)/g, "$1<strong>$2</strong>");
  s = s.replace(/(^|[^\w*])\*([^*\n]+)\*(?!\w)/g, "$1<em>$2</em>");
  s = s.replace(/(^|[^\w])_([^_\n]+)_(?!\w)/g, "$1<em>$2</em>");
  s = s.replace(/~~([^~\n]+)~~/g, "<del>$1</del>");
  s = s.replace(/(^|[^\w@])@([a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9])/gi, (m, pre, name) => pre + hold('<span class="mention">@' + name + "</span>"));
  s = s.replace(/(^|\s)~([a-z0-9][a-z0-9_-]*)/gi, (m, pre, name) => pre + hold('<span class="mention">~' + name + "</span>"));
  s = s.replace(/:([a-z0-9_+-]+):/gi, (m, name) => EMOJI[name.toLowerCase()] || m);
  s = s.replace(/^#{1,6} (.*)$/gm, "<strong>$1</strong>");
  s = s.replace(/\n/g, "<br>");
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => held[Number(i)]);
}

function messageNode(text, cls) {
  const node = el("div", { class: cls || "message" });
  node.innerHTML = markdown(text); // escaped inside markdown()
  return node;
}

// ---- API ----

async function api(path, body) {
  const init = body === undefined ? {}
    : body instanceof Blob ? { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body }
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  let data = {};
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) throw new Error(data.error || response.status + " " + response.statusText);
  return data;
}

function userById(id) { return state.world.users.find((u) => u.id === id); }
function myId() { const u = state.world.users.find((u) => u.username === state.me); return u ? u.id : ""; }
function channelByName(name) { return state.world.channels.find((c) => c.name === name); }
// A direct channel is shown as "dm:<channel id>" in state.channel and the sidebar.
function directId(name) { return name.startsWith("dm:") ? name.slice(3) : ""; }
function directLabel(id) {
  const members = state.directs.get(id) || [];
  const other = members.find((m) => m !== myId()) || members[0];
  const user = userById(other);
  return "@" + (user ? user.username : other);
}

function notice(text, ok) {
  const n = $("notice");
  n.textContent = text || "";
  n.style.color = ok ? "#3db887" : "";
}

// ---- Sidebar ----

function renderSidebar() {
  $("team-name").textContent = "Team " + state.world.team;
  const select = $("user-select");
  select.replaceChildren(...state.world.users.filter((u) => !u.is_bot).map((u) =>
    el("option", { value: u.username, selected: u.username === state.me, text: "@" + u.username + (u.system_admin ? " (system admin)" : "") })));
  // As in Mattermost, the sidebar lists the channels the user is a member of.
  const list = $("channels");
  const mine = state.world.channels.filter((c) => !c.members || c.members.includes(state.me));
  list.replaceChildren(...mine.map((c) =>
    el("li", { class: c.name === state.channel ? "active" : state.unread.has(c.name) ? "unread" : "", "data-channel": c.name, onclick: () => switchChannel(c.name) },
      el("span", { class: c.type === "P" ? "private" : "", text: c.name }))));
  // Direct messages the user is in (the bot's private answers when it may not post
  // ephemerally), as Mattermost lists them below the channels.
  const me = myId();
  const directs = [...state.directs].filter(([, members]) => members.includes(me)).map(([id]) => "dm:" + id);
  $("directs-title").hidden = directs.length === 0;
  $("directs").replaceChildren(...directs.map((name) =>
    el("li", { class: name === state.channel ? "active" : state.unread.has(name) ? "unread" : "", "data-channel": name, onclick: () => switchChannel(name) },
      el("span", { text: directLabel(directId(name)) }))));
}

function markUnread(channelId) {
  const channel = state.world.channels.find((c) => c.id === channelId);
  const name = channel ? channel.name : state.directs.has(channelId) ? "dm:" + channelId : "";
  if (!name || name === state.channel) return;
  state.unread.add(name);
  renderSidebar();
}

function switchChannel(name) {
  state.channel = name;
  state.unread.delete(name);
  state.rootId = "";
  $("replying").hidden = true;
  renderSidebar();
  const direct = directId(name);
  $("message-box").disabled = Boolean(direct);
  $("message-box").placeholder = direct ? "The bot's private answers; type in a channel" : "Write to the channel, or type / for commands";
  if (direct) renderPosts();
  else loadPosts(name).then(renderPosts);
}

// ---- Posts ----

function visiblePosts() {
  const me = myId();
  const direct = directId(state.channel);
  if (direct) return [...state.posts.values()].filter((p) => p.channel_id === direct).sort((a, b) => a.create_at - b.create_at);
  const channel = channelByName(state.channel);
  if (!channel) return [];
  const stored = [...state.posts.values()].filter((p) => p.channel_id === channel.id);
  const mine = state.ephemeral.filter((e) => e.user_id === me && e.post.channel_id === channel.id).map((e) => Object.assign({}, e.post, { _ephemeral: true }));
  return stored.concat(mine).sort((a, b) => a.create_at - b.create_at);
}

function renderPosts() {
  const box = $("posts");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const direct = directId(state.channel);
  $("channel-title").textContent = direct ? directLabel(direct) + " (direct message)" : "~" + state.channel;
  const posts = visiblePosts();
  const roots = posts.filter((p) => !p.root_id || !posts.some((r) => r.id === p.root_id));
  const nodes = [];
  for (const root of roots) {
    nodes.push(postNode(root));
    const replies = posts.filter((p) => p.root_id && p.root_id === root.id);
    if (replies.length) nodes.push(el("div", { class: "thread", "data-root": root.id }, ...replies.map(postNode)));
  }
  box.replaceChildren(...nodes);
  if (atBottom || box.dataset.channel !== state.channel) box.scrollTop = box.scrollHeight;
  box.dataset.channel = state.channel;
}

function postNode(post) {
  const props = post.props || {};
  const user = userById(post.user_id);
  const name = props.override_username || (user ? user.username : post.user_id);
  const isBot = (user && user.is_bot) || props.from_webhook === "true";
  const head = el("div", { class: "post-head" },
    el("span", { class: "author", text: name }),
    isBot ? el("span", { class: "badge", text: "BOT" }) : null,
    el("span", { class: "time", text: new Date(post.create_at).toLocaleTimeString() }),
    post.edit_at ? el("span", { class: "edited", text: "(edited)" }) : null,
    post._ephemeral ? null : el("button", { class: "link reply-link", type: "button", text: "Reply", onclick: () => startReply(post.root_id || post.id) }));
  const body = el("div", { class: "post-body" }, head, messageNode(post.message));
  for (const attachment of props.attachments || []) body.append(attachmentNode(post, attachment));
  if (post._ephemeral) body.append(el("div", { class: "ephemeral-note", text: "(Only visible to you)" }));
  return el("div", { class: "post" + (post._ephemeral ? " ephemeral" : ""), "data-post-id": post.id },
    el("div", { class: "avatar" + (isBot ? " bot" : ""), text: name.slice(0, 1).toUpperCase() }), body);
}

const COLORS = { good: "#3db887", warning: "#ffbc1f", danger: "#d24b4e" };

function attachmentNode(post, a) {
  const content = el("div", { class: "content" });
  if (a.author_name) content.append(el("div", { class: "field-title", text: a.author_name }));
  if (a.title) {
    const href = a.title_link && /^https?:\/\//i.test(a.title_link) ? a.title_link : null;
    content.append(el("div", { class: "title" }, href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: a.title }) : a.title));
  }
  if (a.text) content.append(messageNode(a.text));
  if (Array.isArray(a.fields) && a.fields.length) {
    content.append(el("div", { class: "fields" }, ...a.fields.map((f) =>
      el("div", { class: "field" + (f.short ? " short" : "") },
        el("div", { class: "field-title", text: f.title || "" }), messageNode(String(f.value ?? ""))))));
  }
  if (a.image_url && /^(https?:|data:image\/)/i.test(a.image_url)) content.append(el("img", { class: "image", src: a.image_url, alt: "" }));
  if (Array.isArray(a.actions) && a.actions.length) content.append(actionsNode(post, a.actions));
  if (a.footer) content.append(el("div", { class: "footer", text: a.footer }));
  const color = COLORS[a.color] || (/^#[0-9a-f]{3,8}$/i.test(a.color || "") ? a.color : "#ccc");
  const bar = el("div", { class: "bar" });
  bar.style.background = color;
  const box = el("div", { class: "attachment" }, bar, content);
  if (a.thumb_url && /^https?:/i.test(a.thumb_url)) content.append(el("img", { class: "thumb", src: a.thumb_url, alt: "" }));
  const wrap = el("div", {}, a.pretext ? messageNode(a.pretext, "message pretext") : null, box);
  return wrap;
}

function actionsNode(post, actions) {
  const row = el("div", { class: "actions" });
  for (const action of actions) {
    if (action.type === "select") {
      const key = post.id + "/" + (action.id || "");
      const select = el("select", { "data-action": action.name || "", onchange: (e) => {
        if (!e.target.value) return;
        state.chosen.set(key, e.target.value);
        click(post, action, e.target.value);
      } }, el("option", { value: "", text: action.name || "Choose…" }));
      const current = state.chosen.get(key) ?? action.default_option;
      for (const [text, value] of menuOptions(action)) {
        select.append(el("option", { value, selected: current === value, text }));
      }
      if (action.disabled) select.disabled = true;
      row.append(select);
    } else {
      const style = ["primary", "danger", "good", "success"].includes(action.style) ? (action.style === "success" ? "good" : action.style) : "";
      const button = el("button", { type: "button", class: style, text: action.name || "", onclick: () => click(post, action) });
      if (action.disabled) button.disabled = true;
      row.append(button);
    }
  }
  return row;
}

function menuOptions(action) {
  if (action.data_source === "users") return state.world.users.filter((u) => !u.is_bot).map((u) => ["@" + u.username, u.id]);
  if (action.data_source === "channels") return state.world.channels.map((c) => ["~" + c.name, c.id]);
  return (action.options || []).map((o) => [o.text || o.value, o.value]);
}

async function click(post, action, selected) {
  notice("");
  try {
    await api("/api/click", { user: state.me, post_id: post.id, action_id: action.id || "", selected: selected ?? null });
  } catch (e) { notice(e.message); }
}

async function loadPosts(channel) {
  const data = await api("/api/posts?channel=" + encodeURIComponent(channel));
  for (const p of data.posts) state.posts.set(p.id, p);
}

// ---- Message box, autocomplete ----

function startReply(rootId) {
  state.rootId = rootId;
  $("replying").hidden = false;
  $("message-box").focus();
}

function suggestions() {
  const text = $("message-box").value;
  const m = /^\/(\S*)$/.exec(text);
  if (!m) return [];
  return state.world.commands.filter((c) => c.trigger.startsWith(m[1].toLowerCase()));
}

function renderAutocomplete() {
  const box = $("autocomplete");
  const items = suggestions();
  if (!items.length) { box.hidden = true; return; }
  state.acSelected = Math.min(state.acSelected, items.length - 1);
  box.replaceChildren(el("div", { class: "head", text: "COMMANDS" }), ...items.map((c, i) =>
    el("div", { class: "item" + (i === state.acSelected ? " selected" : ""), "data-trigger": c.trigger, onmousedown: (e) => { e.preventDefault(); chooseCommand(c); } },
      el("span", { class: "trigger", text: "/" + c.trigger }), el("span", { class: "hint", text: c.hint || "" }), el("span", { class: "desc", text: c.description || "" }))));
  box.hidden = false;
}

function chooseCommand(c) {
  $("message-box").value = "/" + c.trigger + " ";
  $("autocomplete").hidden = true;
  $("message-box").focus();
}

async function send() {
  const box = $("message-box");
  const text = box.value.trim();
  if (!text) return;
  box.value = "";
  $("autocomplete").hidden = true;
  notice("");
  try {
    const data = await api("/api/type", { user: state.me, channel: state.channel, root_id: state.rootId, text });
    if (data.notice) notice(data.notice);
  } catch (e) { notice(e.message); box.value = text; }
}

function onKey(e) {
  const items = $("autocomplete").hidden ? [] : suggestions();
  if (items.length && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
    e.preventDefault();
    state.acSelected = (state.acSelected + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    renderAutocomplete();
  } else if (items.length && (e.key === "Tab" || (e.key === "Enter" && !e.shiftKey && !/\s/.test($("message-box").value.slice(1)) && items[state.acSelected].trigger !== $("message-box").value.slice(1)))) {
    e.preventDefault();
    chooseCommand(items[state.acSelected]);
  } else if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    send();
  } else if (e.key === "Escape") {
    $("autocomplete").hidden = true;
  }
}

// ---- Dialogs ----

// One renderer per element type; an unknown type falls back to a text box with a note, so a
// dialog using newer elements still opens (add a renderer here as types land). Each gets the
// element, its current value and the opened dialog (for lookups and uploads).
const ELEMENTS = {
  text: (e, value) => el("input", { type: inputType(e.subtype), name: e.name, value: value ?? "", placeholder: e.placeholder || "", maxlength: e.max_length || undefined }),
  textarea: (e, value) => { const t = el("textarea", { name: e.name, placeholder: e.placeholder || "", maxlength: e.max_length || undefined }); t.value = value ?? ""; return t; },
  select: (e, value, opened) => {
    const multiple = !!e.multiselect;
    // A multiselect's default is comma-separated values.
    const chosen = multiple ? String(value ?? "").split(",").map((v) => v.trim()).filter(Boolean) : [value ?? ""];
    const s = el("select", { name: e.name, multiple, size: multiple ? 5 : undefined });
    const fill = (pairs) => {
      const keep = new Set(multiple ? [...s.selectedOptions].map((o) => o.value) : []);
      const known = new Map([...s.options].filter((o) => o.selected && o.value).map((o) => [o.value, o.text]));
      s.replaceChildren();
      if (!multiple) s.append(el("option", { value: "", text: e.placeholder || "Select an option…" }));
      const seen = new Set();
      for (const [text, v] of pairs) {
        seen.add(v);
        s.append(el("option", { value: v, selected: chosen.includes(v) || keep.has(v), text }));
      }
      // Chosen values stay chosen when a new query no longer lists them.
      for (const [v, text] of known) if (!seen.has(v)) s.append(el("option", { value: v, selected: true, text }));
      chosen.length = 0;
    };
    if (e.data_source !== "dynamic") { fill(menuOptions(e)); return s; }
    const search = el("input", { type: "search", class: "lookup", name: e.name + "-search", placeholder: "Type to search…" });
    let timer;
    const refresh = async () => {
      try {
        const data = await api("/api/lookup", { user: state.me, channel: state.channel, dialog_id: opened.id, field: e.name, query: search.value, submission: collect(opened).submission });
        fill((data.items || []).map((i) => [i.text || i.value, i.value]));
      } catch (err) { showErrors({ [e.name]: err.message }, ""); }
    };
    search.oninput = () => { clearTimeout(timer); timer = setTimeout(refresh, 200); };
    setTimeout(refresh, 0);
    return el("div", { class: "dynamic" }, search, s);
  },
  bool: (e, value) => el("label", {}, el("input", { type: "checkbox", name: e.name, checked: value === true || value === "true" }), " " + (e.placeholder || "")),
  radio: (e, value) => el("div", {}, ...(e.options || []).map((o) =>
    el("label", { style: "display:block" }, el("input", { type: "radio", name: e.name, value: o.value, checked: o.value === value }), " " + (o.text || o.value)))),
  // Relative bounds (`today`, `+7d`) are checked by the integration; only absolute ones are
  // given to the browser's picker.
  // A relative default (`today`, `+1w`) is pre-filled as the day it names, as the web client
  // does.
  date: (e, value) => el("input", { type: "date", name: e.name, value: relativeDay(value, e) ?? value ?? "", min: absoluteDay(e.min_date), max: absoluteDay(e.max_date) }),
  datetime: (e, value) => { const day = relativeDay(value, e); return el("input", { type: "datetime-local", name: e.name, value: day ? day + "T00:00" : String(value ?? "").slice(0, 16), step: e.time_interval ? e.time_interval * 60 : undefined }); },
  // Each chosen file is uploaded at once as the current user, as the web client does; the
  // element keeps the ids and submits them comma-separated.
  file: (e, value, opened) => {
    const input = el("input", { type: "file", name: e.name + "-files", multiple: !!e.allow_multiple });
    const list = el("div", { class: "uploaded" });
    const holder = el("input", { type: "hidden", name: e.name, value: value ?? "" });
    input.onchange = async () => {
      const ids = [];
      list.textContent = "uploading…";
      try {
        for (const file of input.files) {
          const data = await api("/api/upload?" + new URLSearchParams({ user: state.me, channel: state.channel, name: file.name }), file);
          ids.push(data.id);
        }
        holder.value = ids.join(",");
        list.textContent = [...input.files].map((f) => f.name).join(", ");
      } catch (err) { holder.value = ""; list.textContent = ""; showErrors({ [e.name]: err.message }, ""); }
    };
    return el("div", { class: "file" }, input, holder, list);
  },
};
// `today`, `tomorrow`, `yesterday`, `±Nd`, `±Nw` as `YYYY-MM-DD` in the element's time zone
// (UTC when it has none); undefined for anything else.
function relativeDay(value, e) {
  const m = /^(?:(today)|(tomorrow)|(yesterday)|([+-])(\d{1,3})([dw]))$/.exec(String(value ?? "").trim().toLowerCase());
  if (!m) return undefined;
  const days = m[1] ? 0 : m[2] ? 1 : m[3] ? -1 : (m[4] === "-" ? -1 : 1) * Number(m[5]) * (m[6] === "w" ? 7 : 1);
  const zone = (e.datetime_config && e.datetime_config.location_timezone) || "UTC";
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  const day = new Date(today + "T00:00:00Z");
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}
function absoluteDay(day) { return /^\d{4}-\d{2}-\d{2}$/.test(day || "") ? day : undefined; }
function inputType(subtype) { return ["email", "number", "password", "tel", "url"].includes(subtype) ? subtype : "text"; }

function openDialog(opened) {
  const d = opened.dialog || {};
  const form = $("dialog");
  form.dataset.dialogId = opened.id;
  const body = el("div", { class: "dialog-body" });
  if (d.introduction_text) body.append(messageNode(d.introduction_text, "message dialog-intro"));
  for (const e of d.elements || []) {
    const render = ELEMENTS[e.type];
    const value = e.default ?? "";
    const control = render ? render(e, value, opened) : ELEMENTS.text(e, value);
    body.append(el("div", { class: "element", "data-name": e.name, "data-type": e.type },
      el("label", { class: "name" }, e.display_name || e.name, e.optional ? el("span", { class: "optional", text: " (optional)" }) : el("span", { class: "required", text: " *" })),
      control,
      render ? null : el("div", { class: "unsupported", text: "element type \"" + e.type + "\" is shown as a text box (the page does not render it yet)" }),
      e.help_text ? messageNode(e.help_text, "help") : null,
      el("div", { class: "error" })));
  }
  const head = el("div", { class: "dialog-head" },
    d.icon_url && /^https?:/i.test(d.icon_url) ? el("img", { src: d.icon_url, alt: "" }) : null,
    el("h2", { text: d.title || "" }),
    el("button", { type: "button", class: "link", text: "×", "aria-label": "Close", onclick: () => cancelDialog() }));
  const foot = el("div", { class: "dialog-foot" },
    el("span", { class: "generic-error" }),
    el("button", { type: "button", class: "cancel", text: "Cancel", onclick: () => cancelDialog() }),
    el("button", { type: "submit", class: "submit", text: d.submit_label || "Submit" }));
  form.replaceChildren(head, body, foot);
  form.onsubmit = (ev) => { ev.preventDefault(); submitDialog(opened); };
  // A field declared `refresh` sends the values so far when it changes, as the web client
  // does; the form the integration answers with (fields shown or hidden by `show_when`)
  // arrives as a dialog event and replaces this one, entered values kept as its defaults.
  form.onchange = (ev) => {
    const e = (d.elements || []).find((x) => x.name === ev.target.name);
    if (e && e.refresh) refreshDialog(opened);
  };
  $("modal-backdrop").hidden = false;
  const first = form.querySelector("input, textarea, select");
  if (first) first.focus();
}

function closeDialog() {
  $("modal-backdrop").hidden = true;
  $("dialog").replaceChildren();
  state.dialogs.delete(myId());
}

function collect(opened) {
  const submission = {};
  const errors = {};
  for (const e of opened.dialog.elements || []) {
    const form = $("dialog");
    let value;
    const field = form.querySelector('[name="' + CSS.escape(e.name) + '"]');
    if (e.type === "bool") value = !!field?.checked;
    else if (e.type === "radio") value = form.querySelector('[name="' + CSS.escape(e.name) + '"]:checked')?.value ?? "";
    else if (e.type === "select" && e.multiselect) value = field ? [...field.selectedOptions].map((o) => o.value) : [];
    else value = field?.value ?? "";
    if (Array.isArray(value) && !value.length) value = "";
    if (e.type !== "bool" && value === "") {
      if (!e.optional) errors[e.name] = "This field is required.";
      continue;
    }
    if (typeof value === "string" && e.min_length && value.length < e.min_length) errors[e.name] = "Must be at least " + e.min_length + " characters.";
    submission[e.name] = value;
  }
  return { submission, errors };
}

function showErrors(errors, generic) {
  const shown = new Set();
  for (const node of $("dialog").querySelectorAll(".element")) {
    const message = errors[node.dataset.name] || "";
    shown.add(node.dataset.name);
    node.querySelector(".error").textContent = message;
    node.classList.toggle("has-error", !!message);
  }
  // An error for a field this form does not show would otherwise be lost: the dialog would
  // stay open with nothing said.
  const unplaced = Object.entries(errors).filter(([name]) => !shown.has(name)).map(([name, m]) => name + ": " + m);
  $("dialog").querySelector(".generic-error").textContent = [generic, ...unplaced].filter(Boolean).join(" ");
}

async function refreshDialog(opened) {
  try {
    await api("/api/refresh", { user: state.me, channel: state.channel, dialog_id: opened.id, submission: collect(opened).submission });
  } catch (e) { showErrors({}, e.message); }
}

async function submitDialog(opened) {
  const { submission, errors } = collect(opened);
  if (Object.keys(errors).length) { showErrors(errors, ""); return; }
  try {
    const data = await api("/api/dialog", { user: state.me, channel: state.channel, dialog_id: opened.id, submission });
    // A next step may already have replaced this dialog (its event can beat this answer).
    if (data.closed) { if ($("dialog").dataset.dialogId === opened.id) closeDialog(); }
    else showErrors((data.reply && data.reply.errors) || {}, data.reply && data.reply.error);
  } catch (e) { showErrors({}, e.message); }
}

async function cancelDialog() {
  const id = $("dialog").dataset.dialogId;
  closeDialog();
  try { await api("/api/dialog", { user: state.me, channel: state.channel, dialog_id: id, cancel: true }); } catch (e) { notice(e.message); }
}

// ---- Inspector ----

function pretty(body) {
  if (!body) return "(empty)";
  try { return JSON.stringify(JSON.parse(body), null, 2); } catch (_) { /* not JSON */ }
  if (/^[\w.%+-]+=[^\s]*(&[\w.%+-]+=[^\s]*)*$/.test(body)) {
    return [...new URLSearchParams(body)].map(([k, v]) => k + " = " + v).join("\n");
  }
  return body;
}

function headerText(headers) { return (headers || []).map(([k, v]) => k + ": " + v).join("\n"); }

function inspect(event) {
  const log = $("inspector-log");
  let node;
  if (event.type === "integration") {
    const c = event.call;
    const status = c.status ? el("span", { class: c.status === 200 ? "ok" : "bad", text: String(c.status) }) : el("span", { class: "bad", text: "no answer" });
    node = el("details", { class: "exchange integration", "data-kind": c.kind },
      el("summary", {}, el("span", { class: "kind", text: c.kind + " " }), c.method + " " + c.url + " → ", status),
      el("h4", { text: "Request (Mattermost → Switchboard)" }), el("pre", { text: c.method + " " + c.url + "\n" + headerText(c.request_headers) }),
      el("pre", { class: "request-body", text: pretty(c.request_body) }),
      el("h4", { text: "Answer" }), el("pre", { text: (c.status ? "HTTP " + c.status + "\n" + headerText(c.response_headers) : "error: " + (c.error || "")) }),
      el("pre", { class: "response-body", text: pretty(c.response_body) }));
  } else {
    const r = event.request;
    const write = r.method !== "GET";
    node = el("details", { class: "exchange api" + (write ? " write" : " read"), hidden: !write && !$("show-reads").checked },
      el("summary", {}, el("span", { class: "kind", text: "API " }), r.method + " " + r.path + (r.query ? "?" + r.query : "") + " → ", el("span", { class: r.status < 400 ? "ok" : "bad", text: String(r.status) })),
      el("h4", { text: "Switchboard → Mattermost API" }), el("pre", { class: "request-body", text: pretty(r.body) }),
      el("h4", { text: "Answer" }), el("pre", { class: "response-body", text: pretty(r.response_body) }));
  }
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(node);
  while (log.childElementCount > 500) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// ---- Tokens ----

function showTokens() {
  const w = state.world;
  const panel = $("tokens-panel");
  panel.replaceChildren(
    el("h3", { text: "Simulated Mattermost" }),
    el("p", {}, "URL: ", el("code", { text: w.sim_url })),
    el("p", {}, "Switchboard: ", el("code", { text: w.switchboard_url })),
    el("h3", { text: "Access tokens" }),
    el("table", {}, ...w.users.map((u) => el("tr", {}, el("td", { text: "@" + u.username + (u.is_bot ? " (bot)" : u.system_admin ? " (system admin)" : "") }), el("td", {}, el("code", { class: "token", text: u.token || "" }))))),
    el("p", {}, "e.g. ", el("code", { text: "curl -H 'Authorization: Bearer TOKEN' " + w.sim_url.replace(/\/$/, "") + "/api/v4/users/me" })),
    el("p", { class: "sim-note", text: "This Mattermost is simulated: it enforces the integration rules it knows (reply status and content type, response_url uses and lifetime, trigger_id lifetime, post length, dialog elements); the web client's own look, plugins, and anything beyond the API v4 calls Switchboard uses are not imitated." }),
    el("button", { type: "button", onclick: () => { $("tokens-backdrop").hidden = true; }, text: "Close" }));
  $("tokens-backdrop").hidden = false;
}

// ---- Live updates ----

function onEvent(event) {
  switch (event.type) {
    case "post": case "edited":
      if (event.direct) state.directs.set(event.post.channel_id, event.direct);
      state.posts.set(event.post.id, event.post);
      markUnread(event.post.channel_id);
      if (event.direct) renderSidebar();
      break;
    case "ephemeral":
      state.ephemeral.push({ post: event.post, user_id: event.user_id });
      break;
    case "dialog":
      state.dialogs.set(event.dialog.user_id, event.dialog);
      if (event.dialog.user_id === myId()) openDialog(event.dialog);
      return;
    case "integration": case "api":
      inspect(event);
      return;
    case "lagged":
      notice("(" + event.missed + " updates missed; reload the page)");
      return;
    default:
      return;
  }
  renderPosts();
}

async function start() {
  state.world = await api("/api/world");
  const events = new EventSource("/api/events");
  events.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (e) { console.error(e); } };
  events.onopen = () => document.body.setAttribute("data-live", "yes");
  await Promise.all(state.world.channels.map((c) => loadPosts(c.name)));
  renderSidebar();
  renderPosts();
  $("user-select").addEventListener("change", (e) => {
    state.me = e.target.value;
    $("modal-backdrop").hidden = true;
    const channel = channelByName(state.channel);
    if (channel && channel.members && !channel.members.includes(state.me)) switchChannel("town-square");
    const direct = directId(state.channel);
    if (direct && !(state.directs.get(direct) || []).includes(myId())) switchChannel("town-square");
    renderSidebar();
    const waiting = state.dialogs.get(myId());
    if (waiting) openDialog(waiting);
    renderPosts();
  });
  const box = $("message-box");
  box.addEventListener("keydown", onKey);
  box.addEventListener("input", () => { state.acSelected = 0; renderAutocomplete(); });
  $("reply-cancel").addEventListener("click", () => { state.rootId = ""; $("replying").hidden = true; });
  $("inspector-toggle").addEventListener("click", () => { $("inspector").hidden = !$("inspector").hidden; });
  $("inspector-clear").addEventListener("click", () => $("inspector-log").replaceChildren());
  $("show-reads").addEventListener("change", (e) => { for (const n of $("inspector-log").querySelectorAll(".read")) n.hidden = !e.target.checked; });
  $("tokens-button").addEventListener("click", showTokens);
  $("tokens-backdrop").addEventListener("click", (e) => { if (e.target.id === "tokens-backdrop") $("tokens-backdrop").hidden = true; });
  document.body.setAttribute("data-ready", "yes");
  box.focus();
}

start().catch((e) => { document.body.textContent = "switchboard dev: cannot load the page: " + e.message; });
