//! The page `switchboard dev` serves, in real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven over WebDriver: the binary runs from the repository root with
//! the shipped `config.toml` and `routes/`, as the README says. Each step saves a screenshot
//! into `target/browser-screenshots/<test>/`.
//!
//! Without Chromium the tests print why and pass, unless `BROWSER_TESTS=required` (set by
//! `.ci/run`), where they must run.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod webdriver;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use webdriver::{Browser, ENTER};

/// Whether the browser tools are here; panics when CI requires them and they are not.
fn browser_available(test: &str) -> bool {
    if webdriver::tools().is_some() {
        return true;
    }
    assert!(
        std::env::var("BROWSER_TESTS").as_deref() != Ok("required"),
        "BROWSER_TESTS=required but chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
    );
    eprintln!("skipped {test}: chromium and chromedriver are not installed");
    false
}

/// `switchboard dev` from the repository root, its standard input kept open (so it runs
/// until dropped); knows the page's URL.
struct Dev {
    child: Child,
    url: String,
}

impl Dev {
    fn start(routes: Option<&std::path::Path>) -> Dev {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("dev")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SWITCHBOARD_") {
                command.env_remove(key);
            }
        }
        command.env_remove("RUST_LOG");
        if let Some(dir) = routes {
            command.env("SWITCHBOARD_ROUTES__DIR", dir);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Open ") {
                    let url = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("dev prints the page's URL");
        Dev { child, url }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // end of input: dev drains and stops
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens the page and waits until it has loaded and listens for live updates.
async fn open(browser: &mut Browser, dev: &Dev) {
    browser.goto(&dev.url).await;
    browser
        .wait_until(
            "the page to load",
            "return document.body.dataset.ready === 'yes' && document.body.dataset.live === 'yes'",
        )
        .await;
}

/// Acts as `user` (the "you are" switcher).
async fn act_as(browser: &mut Browser, user: &str) {
    browser
        .eval(
            "const s = document.getElementById('user-select'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
            json!([user]),
        )
        .await;
}

/// Types a line into the message box and presses Enter.
async fn say(browser: &mut Browser, text: &str) {
    browser.type_into("#message-box", text).await;
    browser.type_into("#message-box", ENTER).await;
}

const POSTS_TEXT: &str = "return document.getElementById('posts').innerText";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_autocompletes_answers_ephemerally_and_the_inspector_shows_the_callback() {
    if !browser_available("hello") {
        return;
    }
    let dev = Dev::start(None);
    let mut browser = Browser::start("hello").await;
    open(&mut browser, &dev).await;
    browser.screenshot("page-loaded").await;

    // Typing / lists the commands with their hints, as Mattermost's autocomplete does.
    browser.type_into("#message-box", "/he").await;
    let listed = browser
        .wait_until(
            "the autocomplete",
            "const b = document.getElementById('autocomplete'); return !b.hidden && b.innerText",
        )
        .await;
    assert!(listed.as_str().unwrap().contains("/hello"), "{listed}");
    assert!(!listed.as_str().unwrap().contains("/deploy"), "{listed}");
    browser.screenshot("autocomplete").await;
    browser.clear("#message-box").await;

    say(&mut browser, "/hello hi").await;
    browser
        .wait_until(
            "the ephemeral reply",
            "const p = [...document.querySelectorAll('.post.ephemeral')].find(p => p.innerText.includes('You said: hi')); return p && p.innerText.includes('Only visible to you')",
        )
        .await;
    browser.screenshot("hello-ephemeral").await;

    // Text is hostile: markup in a message is shown, never run; Markdown is rendered.
    say(
        &mut browser,
        "<img src=x onerror=\"document.body.dataset.owned='yes'\"> **bold** _it_ `code` :tada: @bob [site](javascript:alert(1))",
    )
    .await;
    let rendered = browser
        .wait_until(
            "the hostile message",
            "const p = [...document.querySelectorAll('.post .message')].find(m => m.innerText.includes('bold')); return p && p.innerHTML",
        )
        .await;
    let rendered = rendered.as_str().unwrap();
    assert!(rendered.contains("&lt;img"), "{rendered}");
    assert!(rendered.contains("<strong>bold</strong>"), "{rendered}");
    assert!(rendered.contains("<em>it</em>"), "{rendered}");
    assert!(rendered.contains("<code>code</code>"), "{rendered}");
    assert!(rendered.contains("🎉"), "{rendered}");
    assert!(rendered.contains("class=\"mention\">@bob"), "{rendered}");
    assert!(!rendered.contains("href=\"javascript"), "{rendered}");
    let owned = browser
        .eval("return document.querySelectorAll('#posts img').length + (document.body.dataset.owned || '')", json!([]))
        .await;
    assert_eq!(owned, json!("0"));
    browser.screenshot("markdown-escaped").await;

    // Another user does not see alice's ephemeral reply, nor the private ~leads in the sidebar.
    act_as(&mut browser, "bob").await;
    let channels = browser
        .eval(
            "return document.getElementById('channels').innerText",
            json!([]),
        )
        .await;
    assert!(!channels.as_str().unwrap().contains("leads"), "{channels}");
    let posts = browser.eval(POSTS_TEXT, json!([])).await;
    assert!(!posts.as_str().unwrap().contains("You said: hi"), "{posts}");
    browser.screenshot("bob-does-not-see-it").await;

    // The inspector shows the exact callback and its answer.
    browser.click("#inspector-toggle").await;
    let call = browser
        .wait_until(
            "the callback in the inspector",
            "const d = document.querySelector('.exchange.integration[data-kind=\"slash command\"]'); if (!d) return false; d.open = true; return d.innerText",
        )
        .await;
    let call = call.as_str().unwrap();
    assert!(call.contains("POST http://127.0.0.1:"), "{call}");
    assert!(call.contains("/commands/hello"), "{call}");
    assert!(call.contains("command = /hello"), "{call}");
    assert!(call.contains("authorization: Token "), "{call}");
    assert!(call.contains("HTTP 200"), "{call}");
    assert!(call.contains("You said: hi"), "{call}");
    browser.screenshot("inspector-callback").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_dialog_shows_the_field_error_then_the_thread_fills_and_ends_with_a_check() {
    if !browser_available("deploy") {
        return;
    }
    let dev = Dev::start(None);
    let mut browser = Browser::start("deploy").await;
    open(&mut browser, &dev).await;

    say(&mut browser, "/deploy").await;
    browser
        .wait_until(
            "the deploy dialog",
            "return !document.getElementById('modal-backdrop').hidden && document.querySelector('#dialog h2').innerText === 'Deploy'",
        )
        .await;
    browser.screenshot("dialog-open").await;

    browser.type_into("#dialog [name=version]", "1.2").await;
    browser.click("#dialog button.submit").await;
    let error = browser
        .wait_until(
            "the version's field error",
            "return document.querySelector('#dialog .element[data-name=version] .error').innerText",
        )
        .await;
    assert!(!error.as_str().unwrap().is_empty());
    browser.screenshot("field-error").await;

    browser.clear("#dialog [name=version]").await;
    browser.type_into("#dialog [name=version]", "v1.2.3").await;
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the dialog to close",
            "return document.getElementById('modal-backdrop').hidden",
        )
        .await;
    browser.screenshot("dialog-closed").await;

    let thread = browser
        .wait_until(
            "the thread to end with ✅",
            "const t = document.querySelector('.thread'); return t && t.innerText.includes('✅') && t.innerText",
        )
        .await;
    assert!(thread.as_str().unwrap().contains("v1.2.3"), "{thread}");
    browser.screenshot("thread-done").await;

    // A reply in the thread, from the page.
    browser
        .eval(
            "document.querySelector('.thread .reply-link').click()",
            json!([]),
        )
        .await;
    say(&mut browser, "thanks, looks good").await;
    browser
        .wait_until(
            "the reply in the thread",
            "const t = document.querySelector('.thread'); return t && t.innerText.includes('thanks, looks good')",
        )
        .await;

    // The inspector shows the dialog submission and the posts Switchboard made back, with
    // the simulated Mattermost's answers.
    browser.click("#inspector-toggle").await;
    let submission = browser
        .wait_until(
            "the submission in the inspector",
            "const d = [...document.querySelectorAll('.exchange.integration[data-kind=\"dialog submission\"]')].pop(); if (!d) return false; d.open = true; return d.innerText",
        )
        .await;
    assert!(
        submission
            .as_str()
            .unwrap()
            .contains("\"version\": \"v1.2.3\""),
        "{submission}"
    );
    let api = browser
        .wait_until(
            "a post Switchboard made, in the inspector",
            "const d = [...document.querySelectorAll('.exchange.api.write')].find(d => d.innerText.includes('POST /api/v4/posts') && d.querySelector('.request-body').textContent.includes('started by')); if (!d) return false; d.open = true; d.scrollIntoView(); return d.querySelector('.response-body').textContent",
        )
        .await;
    assert!(api.as_str().unwrap().contains("\"create_at\""), "{api}");
    browser.screenshot("inspector-api-calls").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_vote_and_the_counts_update_live() {
    if !browser_available("poll") {
        return;
    }
    let dev = Dev::start(None);
    let mut browser = Browser::start("poll").await;
    open(&mut browser, &dev).await;

    say(&mut browser, "/poll Lunch at noon?").await;
    browser
        .wait_until(
            "the poll",
            "return document.getElementById('posts').innerText.includes('Yes: 0 · No: 0 · Maybe: 0')",
        )
        .await;
    browser.screenshot("poll-posted").await;

    browser.click(".attachment .actions button.good").await;
    browser
        .wait_until(
            "alice's vote",
            "return document.getElementById('posts').innerText.includes('Yes: 1 · No: 0 · Maybe: 0')",
        )
        .await;
    browser.screenshot("alice-voted").await;

    act_as(&mut browser, "bob").await;
    browser.click(".attachment .actions button.danger").await;
    browser
        .wait_until(
            "bob's vote",
            "return document.getElementById('posts').innerText.includes('Yes: 1 · No: 1 · Maybe: 0')",
        )
        .await;
    browser.screenshot("bob-voted").await;

    // A trigger word in one channel; the hook posts in ~leads, which lights up, and answers
    // in the thread here.
    act_as(&mut browser, "alice").await;
    say(&mut browser, "oncall the database is down").await;
    browser
        .wait_until(
            "the hook's answer in the thread",
            "const t = document.querySelector('.thread'); return t && t.innerText.includes('Paged ~leads')",
        )
        .await;
    browser
        .click("#channels li.unread[data-channel=leads]")
        .await;
    browser
        .wait_until(
            "the page in ~leads",
            "return document.getElementById('posts').innerText.includes('@alice paged on-call from ~town-square: the database is down')",
        )
        .await;
    browser.screenshot("hook-in-leads").await;
}

const MENUS: &str = r#"
[command]
trigger = "lunch"
[reply]
visibility = "in_channel"
text = "Where to?"
[[reply.attachments]]
text = "Pick one"
actions = [
  { id = "place", name = "Place", type = "select", action = "chosen", options = [{ text = "Pizza Palace", value = "pizza" }, { text = "Sushi", value = "sushi" }] },
]
[actions.chosen.reply]
text = "Chosen: {{ context.selected_option }}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_menu_choice_sends_the_action_callback() {
    if !browser_available("menu") {
        return;
    }
    let routes = tempfile::tempdir().unwrap();
    std::fs::write(routes.path().join("lunch.toml"), MENUS).unwrap();
    let dev = Dev::start(Some(routes.path()));
    let mut browser = Browser::start("menu").await;
    open(&mut browser, &dev).await;

    say(&mut browser, "/lunch").await;
    browser
        .wait_until(
            "the menu",
            "return !!document.querySelector('.attachment select')",
        )
        .await;
    browser.screenshot("menu").await;
    browser
        .eval(
            "const s = document.querySelector('.attachment select'); s.value = 'sushi'; s.dispatchEvent(new Event('change'));",
            json!([]),
        )
        .await;
    browser
        .wait_until(
            "the answer to the choice",
            "return document.getElementById('posts').innerText.includes('Chosen: sushi')",
        )
        .await;
    // The menu keeps showing the choice after the page redraws.
    let shown = browser
        .eval(
            "const s = document.querySelector('.attachment select'); return s.options[s.selectedIndex].text",
            json!([]),
        )
        .await;
    assert_eq!(shown, json!("Sushi"));
    browser.screenshot("menu-chosen").await;
}

const ASSIGN: &str = r#"
[command]
trigger = "assign"
[dialog]
title = "Assign"
introduction = "Who takes it?"
on_submit = "done"
[[dialog.elements]]
name = "who"
display_name = "Assignee"
type = "select"
data_source = "users"
required = true
[[dialog.elements]]
name = "where"
display_name = "Channel"
type = "select"
data_source = "channels"
[[dialog.elements]]
name = "urgent"
display_name = "Urgent"
type = "bool"
placeholder = "page them now"
[actions.done.reply]
text = "assigned {{ submission.who | length }}-char id in {{ submission.where | length }}-char id, urgent={{ 'yes' if submission.urgent else 'no' }}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialog_selects_of_users_and_channels_and_a_checkbox_send_ids_and_a_boolean() {
    if !browser_available("dialog-elements") {
        return;
    }
    let routes = tempfile::tempdir().unwrap();
    std::fs::write(routes.path().join("assign.toml"), ASSIGN).unwrap();
    let dev = Dev::start(Some(routes.path()));
    let mut browser = Browser::start("dialog-elements").await;
    open(&mut browser, &dev).await;

    say(&mut browser, "/assign").await;
    browser
        .wait_until(
            "the assign dialog",
            "return !document.getElementById('modal-backdrop').hidden",
        )
        .await;
    // A required field left empty is caught before anything is sent, as the web client does.
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the required-field error",
            "return document.querySelector('#dialog .element[data-name=who] .error').innerText === 'This field is required.'",
        )
        .await;
    browser.screenshot("required").await;
    browser
        .eval(
            "const f = document.getElementById('dialog'); \
             const who = f.querySelector('[name=who]'); who.value = [...who.options].find(o => o.text === '@bob').value; \
             const where = f.querySelector('[name=where]'); where.value = [...where.options].find(o => o.text === '~off-topic').value; \
             f.querySelector('[name=urgent]').checked = true;",
            json!([]),
        )
        .await;
    browser.screenshot("filled").await;
    browser.click("#dialog button.submit").await;
    // A dialog cannot answer inline and the bot may not post ephemerally: the private answer
    // is a direct message from the bot, listed under DIRECT MESSAGES, not in the channel.
    browser
        .wait_until(
            "the bot's direct message in the sidebar",
            "return [...document.querySelectorAll('#directs li')].some(li => li.innerText === '@switchboard')",
        )
        .await;
    let in_channel = browser
        .eval(
            "return document.getElementById('posts').innerText.includes('assigned')",
            json!([]),
        )
        .await;
    assert_eq!(
        in_channel,
        json!(false),
        "the private answer is in the channel"
    );
    browser.click("#directs li").await;
    browser
        .wait_until(
            "the answer",
            "return document.getElementById('posts').innerText.includes('From ~town-square: assigned 26-char id in 26-char id, urgent=yes')",
        )
        .await;
    browser.screenshot("answered").await;
}

/// The shipped `/incident` dialog in the page: a dynamic multiselect searched as the user
/// types (choices kept across searches), a date whose out-of-range value gets the field's
/// error, then step 2's static multiselect with the rule's generic error, and the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_dialog_multiselects_and_date_are_filled_and_submitted() {
    if !browser_available("incident-dialog") {
        return;
    }
    let dev = Dev::start(None);
    let mut browser = Browser::start("incident-dialog").await;
    open(&mut browser, &dev).await;

    say(&mut browser, "/incident").await;
    browser
        .wait_until(
            "step 1",
            "return !document.getElementById('modal-backdrop').hidden && document.querySelector('#dialog h2').innerText === 'Report an incident'",
        )
        .await;
    browser.type_into("#dialog [name=summary]", "DB down").await;
    browser
        .eval(
            "document.querySelector('#dialog [name=severity]').value = 'sev1';",
            json!([]),
        )
        .await;
    // The lookup is asked as the user types; a choice survives the next search.
    browser
        .type_into("#dialog [name=services-search]", "data")
        .await;
    browser
        .wait_until(
            "the lookup for `data`",
            "const s = document.querySelector('#dialog select[name=services]'); return s.multiple && [...s.options].map(o => o.text).join('|') === 'Database'",
        )
        .await;
    browser
        .eval(
            "document.querySelector('#dialog select[name=services]').options[0].selected = true;",
            json!([]),
        )
        .await;
    browser.clear("#dialog [name=services-search]").await;
    browser
        .type_into("#dialog [name=services-search]", "api")
        .await;
    browser
        .wait_until(
            "the lookup for `api`",
            "const s = document.querySelector('#dialog select[name=services]'); return [...s.options].map(o => o.value + (o.selected ? '*' : '')).join('|') === 'api|db*'",
        )
        .await;
    browser
        .eval(
            "document.querySelector('#dialog select[name=services]').options[0].selected = true; \
             const d = document.querySelector('#dialog input[name=started]'); \
             d.value = new Date(Date.now() + 2 * 86400000).toISOString().slice(0, 10);",
            json!([]),
        )
        .await;
    browser.screenshot("step-1-filled").await;
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the date's field error",
            "return document.querySelector('#dialog .element[data-name=started] .error').innerText.startsWith('Choose ')",
        )
        .await;
    browser.screenshot("date-refused").await;
    browser
        .eval(
            "document.querySelector('#dialog input[name=started]').value = new Date().toISOString().slice(0, 10);",
            json!([]),
        )
        .await;
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "step 2",
            "return document.querySelector('#dialog h2')?.innerText === 'Incident: who to page'",
        )
        .await;
    let pick = "const s = document.querySelector('#dialog select[name=teams]'); \
                for (const o of s.options) o.selected = arguments[0].includes(o.value);";
    browser.eval(pick, json!([["platform"]])).await;
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the rule's generic error",
            "return document.querySelector('#dialog .generic-error').innerText === 'A sev1 pages two teams.'",
        )
        .await;
    browser.eval(pick, json!([["platform", "database"]])).await;
    browser.screenshot("step-2-filled").await;
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the report",
            "const t = document.getElementById('posts').innerText; return t.includes('Services: api, db') && t.includes('Paging: platform, database') && document.getElementById('modal-backdrop').hidden",
        )
        .await;
    browser.screenshot("reported").await;
}

const EVIDENCE: &str = r#"
[command]
trigger = "evidence"
[dialog]
title = "Evidence"
on_submit = "thanks"
[[dialog.elements]]
name = "logs"
display_name = "Logs"
type = "file"
required = true
extensions = ["txt"]
[[dialog.elements]]
name = "at"
display_name = "Seen at"
type = "datetime"
required = true
[actions.thanks.reply]
visibility = "in_channel"
text = "Got {{ submission.logs | length }} file(s), seen {{ submission.at }}"
"#;

/// A file element uploads the chosen file as the current user at once; a file of another type
/// gets the field's error; a datetime picker's local time is submitted as RFC 3339.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_and_datetime_elements_upload_and_submit() {
    if !browser_available("file-element") {
        return;
    }
    let routes = tempfile::tempdir().unwrap();
    std::fs::write(routes.path().join("evidence.toml"), EVIDENCE).unwrap();
    let files = tempfile::tempdir().unwrap();
    let image = files.path().join("shot.png");
    let notes = files.path().join("notes.txt");
    std::fs::write(&image, b"png").unwrap();
    std::fs::write(&notes, b"notes").unwrap();
    let dev = Dev::start(Some(routes.path()));
    let mut browser = Browser::start("file-element").await;
    open(&mut browser, &dev).await;

    say(&mut browser, "/evidence").await;
    browser
        .wait_until(
            "the evidence dialog",
            "return !document.getElementById('modal-backdrop').hidden",
        )
        .await;
    browser
        .eval(
            "document.querySelector('#dialog input[name=at]').value = '2026-03-04T05:06';",
            json!([]),
        )
        .await;
    browser
        .type_into(
            "#dialog input[name=logs-files]",
            &image.display().to_string(),
        )
        .await;
    browser
        .wait_until(
            "the upload",
            "return document.querySelector('#dialog .uploaded').innerText === 'shot.png'",
        )
        .await;
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the type error",
            "return document.querySelector('#dialog .element[data-name=logs] .error').innerText.includes('not one of the accepted types')",
        )
        .await;
    browser.screenshot("wrong-type").await;
    browser
        .type_into(
            "#dialog input[name=logs-files]",
            &notes.display().to_string(),
        )
        .await;
    browser
        .wait_until(
            "the second upload",
            "return document.querySelector('#dialog .uploaded').innerText === 'notes.txt'",
        )
        .await;
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the answer",
            "return document.getElementById('posts').innerText.includes('Got 1 file(s), seen 2026-03-04T05:06:00+00:00')",
        )
        .await;
    browser.screenshot("answered").await;
}

const SHOWN_BY_A_CHOICE: &str = r#"
[command]
trigger = "report"
[dialog]
title = "Report"
on_submit = "done"
[[dialog.elements]]
name = "summary"
display_name = "Summary"
type = "text"
required = true
[[dialog.elements]]
name = "severity"
display_name = "Severity"
type = "radio"
required = true
refresh = true
options = [{ text = "Sev 1", value = "sev1" }, { text = "Sev 3", value = "sev3" }]
[[dialog.elements]]
name = "reason"
display_name = "Why?"
type = "textarea"
required = true
show_when = "{{ submission.severity == 'sev1' }}"
[actions.done.reply]
visibility = "in_channel"
text = "{{ submission.severity }}: {{ submission.summary }}, because {{ submission.reason }}"
"#;

/// A `refresh` field refreshes the form as the user changes it, as Mattermost's web client
/// does: choosing Sev 1 shows the field its `show_when` names, with what was typed kept, and
/// the dialog can be completed. (The page used to send no refresh: the field never appeared
/// and the submission stayed open with no error in sight.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_field_shows_the_fields_its_choice_asks_for() {
    if !browser_available("refresh") {
        return;
    }
    let routes = tempfile::tempdir().unwrap();
    std::fs::write(routes.path().join("report.toml"), SHOWN_BY_A_CHOICE).unwrap();
    let dev = Dev::start(Some(routes.path()));
    let mut browser = Browser::start("refresh").await;
    open(&mut browser, &dev).await;

    say(&mut browser, "/report").await;
    browser
        .wait_until(
            "the dialog",
            "return !document.getElementById('modal-backdrop').hidden",
        )
        .await;
    let reason = "return !!document.querySelector('#dialog [name=reason]')";
    assert_eq!(browser.eval(reason, json!([])).await, json!(false));
    browser.type_into("#dialog [name=summary]", "DB down").await;
    browser
        .click("#dialog input[name=severity][value=sev1]")
        .await;
    browser
        .wait_until(
            "the field Sev 1 shows, the summary kept",
            "return !!document.querySelector('#dialog textarea[name=reason]') && document.querySelector('#dialog [name=summary]').value === 'DB down' && document.querySelector('#dialog input[name=severity][value=sev1]').checked",
        )
        .await;
    browser.screenshot("refreshed").await;
    browser
        .type_into("#dialog textarea[name=reason]", "disk full")
        .await;
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the answer",
            "return document.getElementById('posts').innerText.includes('sev1: DB down, because disk full') && document.getElementById('modal-backdrop').hidden",
        )
        .await;
}

const BOOK: &str = r#"
[command]
trigger = "book"
[dialog]
title = "Book"
on_submit = "ok"
[[dialog.elements]]
name = "day"
display_name = "Day"
type = "date"
required = true
default = "+1d"
[actions.ok.reply]
visibility = "in_channel"
text = "booked {{ submission.day }}"
"#;

/// A relative date default is pre-filled as the day it names (here tomorrow, UTC), as the web
/// client does, and is submitted as that day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_date_default_is_prefilled_as_its_day() {
    if !browser_available("relative-default") {
        return;
    }
    let routes = tempfile::tempdir().unwrap();
    std::fs::write(routes.path().join("book.toml"), BOOK).unwrap();
    let dev = Dev::start(Some(routes.path()));
    let mut browser = Browser::start("relative-default").await;
    open(&mut browser, &dev).await;
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .tomorrow()
        .unwrap()
        .to_string();

    say(&mut browser, "/book").await;
    browser
        .wait_until(
            "the dialog",
            "return !document.getElementById('modal-backdrop').hidden",
        )
        .await;
    let value = browser
        .eval(
            "return document.querySelector('#dialog input[name=day]').value",
            json!([]),
        )
        .await;
    assert_eq!(value, json!(tomorrow));
    browser.click("#dialog button.submit").await;
    browser
        .wait_until(
            "the answer",
            &format!(
                "return document.getElementById('posts').innerText.includes('booked {tomorrow}')"
            ),
        )
        .await;
}
