//! The web console in a real headless Chromium, on the demo community: a
//! community admin logs in with their token, reads fire-safety in the
//! catalog in plain words, enables it by keyboard alone with a narrower
//! grant than it asks for and a setting edited in the form (a wrong value
//! first, refused with the schema's message), and watches the compound
//! while two smoke detectors report: the confirmed fire appears on the map
//! without a reload, and the admin acknowledges it there. A ledger receipt
//! checks out in the page and a tampered one does not; an upgrade says
//! what the new version asks for before it is applied; a resident of the
//! burning household reads the warning in their inbox and checks the
//! receipt of the parking points they bought. Every page is
//! screenshotted into `docs/console/` (shown by `docs/console.md`) and
//! every control on it must be labelled.
//!
//! The API the console reads that other clients had no use for before —
//! who a token is, an installation's counts and last log lines, a person's
//! own accounts — is checked here too, bad input included.

use linli_tests::{
    demo_community_map, package_with, requested_grants, Browser, Community, StatusCode, TestHost,
};
use serde_json::{json, Value};

const FIRE: &str = "fire-safety";
const PARKING: &str = "parking";
const VOTING: &str = "voting";

/// Sunny Garden with its map and fire-safety published (not yet enabled).
async fn sunny_garden(host: &TestHost) -> Community {
    host.publish(FIRE).await;
    let c = host.community("sunny-garden").await;
    c.import_map(&demo_community_map()).await.expect(200);
    c
}

/// Parking and voting running beside fire-safety, and 100 parking points
/// bought for `person` at the front desk (three ledger entries of theirs).
async fn parking_and_voting(host: &TestHost, c: &Community, person: &str) {
    for scene in [PARKING, VOTING] {
        host.publish(scene).await;
        c.install(scene, requested_grants(scene), json!({})).await;
    }
    c.command(
        PARKING,
        "top-up",
        json!({"person": person, "points": 100, "key": "desk-0001"}),
    )
    .await
    .expect(200);
}

/// What the focused element is: `[id, grant, item, config, inside the enable form]`.
const FOCUSED: &str = r#"
    const e = document.activeElement;
    return [e.id || e.tagName, e.dataset.grant || null, e.dataset.item || null,
            e.dataset.config || null, !!e.closest("form.enable")];
"#;

/// The ids of the enable form's controls a keyboard can reach.
const ENABLE_CONTROLS: &str = r#"
    return [...document.querySelectorAll("form.enable input, form.enable select, form.enable button")]
        .filter((e) => !e.disabled).map((e) => e.id);
"#;

/// Enables fire-safety from the catalog with the keyboard alone: Tab from
/// the top of the page through every control of the form, Space to take
/// gas readings out of the grant, typing the confirmation window, Enter to
/// review and to confirm.
async fn enable_by_keyboard(browser: &Browser) {
    use fantoccini::key::Key;
    browser.wait_for("form.enable").await;
    browser.assert_every_control_labelled("enable").await;
    let controls: Vec<String> =
        serde_json::from_value(browser.js(ENABLE_CONTROLS).await).expect("ids");
    let mut reached = Vec::new();
    let mut window_field = false;
    for _ in 0..400 {
        browser.press(&Key::Tab).await;
        let focused = browser.js(FOCUSED).await;
        if focused[4] != true {
            if reached.is_empty() {
                continue;
            }
            break;
        }
        reached.push(focused[0].as_str().expect("an id").to_owned());
        if focused[1] == "sensor" && focused[2] == "gas" {
            browser.press(" ").await;
        }
        if focused[3] == "confirmation-window-ms" {
            window_field = true;
            browser.press("10").await;
        }
    }
    assert!(window_field, "the config form has the confirmation window");
    let missed: Vec<&String> = controls.iter().filter(|c| !reached.contains(c)).collect();
    assert!(missed.is_empty(), "Tab never reached {missed:?}");

    // Tab ran past the form's last control, the Review button: back to it.
    browser.press(&format!("{}{}", Key::Shift, Key::Tab)).await;
    assert_eq!(browser.js(FOCUSED).await[0], "review");
    browser.press(&Key::Enter).await;
    // The wrong value is refused with the schema's bound, and the focus
    // goes to it.
    browser
        .wait_for_text(
            "[data-config='confirmation-window-ms'] ~ .error",
            "at least 1000",
        )
        .await;
    assert_eq!(
        browser.js(FOCUSED).await[3],
        "confirmation-window-ms",
        "the invalid field has the focus"
    );
    browser.screenshot("enable-invalid").await;
    browser
        .press(&format!("{}{}", Key::Backspace, Key::Backspace))
        .await;
    browser.press(&format!("120000{}", Key::Enter)).await;

    browser
        .wait_for("#confirmation:not([hidden]) #confirm")
        .await;
    browser
        .wait_for_text("#confirmation", "Asked for but not allowed")
        .await;
    browser.wait_for_text("#confirmation", "gas").await;
    browser
        .wait_for_text("#confirm-config", "\"confirmation-window-ms\": 120000")
        .await;
    assert_eq!(
        browser.js(FOCUSED).await[0],
        "confirm",
        "confirm has the focus"
    );
    browser.screenshot_page("enable-confirm").await;
    browser.press(&Key::Enter).await;
    browser.wait_for("#confirmation [data-installation]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_enables_fire_safety_watches_a_fire_reach_the_map_live_and_a_resident_reads_the_warning(
) {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let host = TestHost::start().await;
    let c = sunny_garden(&host).await;
    // The resident lives in b3-201, where the fire will start.
    let resident = "person-120";
    parking_and_voting(&host, &c, resident).await;
    let console = format!("{}/console/", host.server.url());

    // Log in with the community admin's token.
    browser.goto(&console).await;
    browser.wait_for("form.login").await;
    browser.record_page("login").await;
    browser
        .type_into("form.login input[type=password]", c.admin.token())
        .await;
    browser.click("form.login button[type=submit]").await;

    // The catalog says what fire-safety asks for in plain words.
    browser
        .wait_for("article.plugin[data-plugin='fire-safety']")
        .await;
    browser
        .wait_for_text(
            "article.plugin[data-plugin='fire-safety'] ul.capabilities",
            "Reads sensor readings: smoke, smoke alarms, temperature, gas",
        )
        .await;
    browser
        .wait_for_text(
            "article.plugin[data-plugin='fire-safety'] ul.capabilities",
            "critical ones too",
        )
        .await;
    // Voting says which of its ledger records every member may read.
    browser
        .wait_for_text(
            "article.plugin[data-plugin='voting'] ul.capabilities",
            "shows every member of the community its records of: voting/motion",
        )
        .await;
    browser.record_page("catalog").await;

    // The same page in Chinese, then back.
    browser.js(r#"const s = document.getElementById("language"); s.value = "zh"; s.dispatchEvent(new Event("change")); return null;"#).await;
    browser.wait_for_text("main h1", "插件目录").await;
    browser
        .wait_for_text("article.plugin ul.capabilities", "读取传感器读数：烟雾")
        .await;
    browser.screenshot("catalog-zh").await;
    browser.js(r#"const s = document.getElementById("language"); s.value = "en"; s.dispatchEvent(new Event("change")); return null;"#).await;
    browser.wait_for_text("main h1", "Plugin catalog").await;

    browser
        .click("article.plugin[data-plugin='fire-safety'] a.button")
        .await;
    enable_by_keyboard(&browser).await;

    // The installation holds the narrowed grant and the edited setting.
    let installations = c
        .admin
        .get(&format!("/api/v1/communities/{}/installations", c.id))
        .await
        .expect(200);
    let installation = installations
        .as_array()
        .expect("a list")
        .iter()
        .find(|i| i["plugin"] == FIRE)
        .expect("fire-safety is installed");
    let kinds = installation["grants"]["sensor"]["kinds"]
        .as_array()
        .expect("sensor kinds");
    assert!(!kinds.contains(&json!("gas")), "{kinds:?}");
    assert!(kinds.contains(&json!("smoke")), "{kinds:?}");
    assert_eq!(
        installation["config"],
        json!({"confirmation-window-ms": 120000})
    );
    let id = installation["id"].as_str().expect("an id").to_owned();

    // The live compound: a fire confirmed by two detectors on one floor
    // appears on the map while the page stays open.
    browser.click("#nav a[href='#/compound']").await;
    browser.wait_for("svg.map path.building").await;
    browser.wait_for("#live[data-live='on']").await;
    browser.js("window.stayedOnPage = true; return null;").await;
    // One detector makes a fire suspected; the second on the floor confirms it.
    for (unit, obscuration, alarm) in [
        ("b3-201", 8.5, "fire-suspected"),
        ("b3-202", 9.1, "fire-confirmed"),
    ] {
        let detector = c
            .placed_device(
                &format!("smoke-{unit}"),
                "smoke-detector",
                &["smoke"],
                Some(unit),
            )
            .await;
        c.send_handled(&id, &detector, "smoke", json!(obscuration))
            .await;
        browser
            .wait_for(&format!("svg.map g.alarm[data-alarm-type='{alarm}']"))
            .await;
    }
    // The floor it burns on is marked in building 3's stack of floors.
    browser
        .wait_for("svg.map g.floors rect.floor.alarmed[data-place='b3-f2']")
        .await;
    assert_eq!(
        browser.js("return window.stayedOnPage === true;").await,
        true,
        "the alarm came without a reload"
    );
    browser.wait_for("#work-orders li[data-work-order]").await;
    browser
        .wait_for("#notifications li[data-topic='fire-confirmed']")
        .await;
    browser.record_page("compound").await;

    // Acknowledged from the alarm list.
    browser
        .click_until(
            "tr[data-alarm-type='fire-confirmed'] button[data-action='ack']",
            "tr[data-alarm-type='fire-confirmed'][data-acknowledged='true']",
        )
        .await;
    let confirmed = c
        .admin
        .get(&format!(
            "/api/v1/communities/{}/alarms?state=active&type=fire-confirmed",
            c.id
        ))
        .await
        .expect(200);
    assert_eq!(confirmed[0]["acknowledged"], true, "{confirmed}");

    // The installation's page counts what it handled and shows its log.
    browser.click("#nav a[href='#/installations']").await;
    browser
        .wait_for(&format!("article.installation[data-installation='{id}']"))
        .await;
    let handled = browser
        .text("article.installation dd[data-stat='events_handled']")
        .await;
    assert!(
        handled.parse::<u64>().is_ok_and(|n| n >= 2),
        "events handled: {handled:?}"
    );
    browser.record_page("installations").await;
    // Voting suspended and resumed from its card.
    let voting = "article.installation[data-plugin='voting']";
    browser
        .click_until(
            &format!("{voting} button[data-action='suspend']"),
            &format!("{voting} dd.state.suspended"),
        )
        .await;
    browser
        .click_until(
            &format!("{voting} button[data-action='resume']"),
            &format!("{voting} dd.state.active"),
        )
        .await;

    // A new version asking for one more alarm type: the upgrade says so
    // before it is applied, and the grant stays as it was.
    host.publish_package(package_with(FIRE, |manifest| {
        manifest
            .replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1)
            .replacen(
                "types = [\"fire-suspected\"",
                "types = [\"evacuation-drill\", \"fire-suspected\"",
                1,
            )
    }))
    .await;
    browser.click("#nav a[href='#/catalog']").await;
    browser
        .click("article.plugin[data-plugin='fire-safety'] a.button")
        .await;
    browser
        .wait_for_text(
            "section[aria-labelledby='upgrade-diff']",
            "evacuation drill",
        )
        .await;
    browser.record_page("upgrade").await;
    browser
        .click_until("#review", "#confirmation:not([hidden]) #confirm")
        .await;
    browser
        .click_until("#confirm", "#confirmation [data-installation]")
        .await;
    let upgraded = c.installation(&id).await;
    assert_eq!(upgraded["version"], "0.2.0");
    assert!(
        !upgraded["grants"]["alarm"]["types"]
            .as_array()
            .expect("alarm types")
            .contains(&json!("evacuation-drill")),
        "{upgraded}"
    );

    // A receipt of the ledger checks out in the page; tampered, it fails.
    browser.click("#nav a[href='#/ledger']").await;
    browser.click("table.entries button[data-verify]").await;
    browser
        .wait_for("table.entries .verification[data-verified='true']")
        .await;
    let receipt = c
        .admin
        .get(&format!(
            "/api/v1/communities/{}/ledger/entries/0/receipt",
            c.id
        ))
        .await
        .expect(200);
    browser
        .type_into("#receipt-json", &receipt.to_string())
        .await;
    browser
        .click_until("#check-receipt", "#receipt-result[data-verified='true']")
        .await;
    let mut tampered = receipt.clone();
    let body = tampered["entry"]["body"].as_str().expect("a body");
    tampered["entry"]["body"] = Value::String(format!("{body} "));
    browser
        .js("document.getElementById('receipt-json').value = ''; return null;")
        .await;
    browser
        .type_into("#receipt-json", &tampered.to_string())
        .await;
    browser
        .click_until("#check-receipt", "#receipt-result[data-verified='false']")
        .await;
    browser
        .wait_for_text("#receipt-result", "does not hash to its leaf hash")
        .await;
    // A time shown that the hashed body does not say fails too.
    let mut retimed = receipt.clone();
    retimed["entry"]["at"] = Value::from(receipt["entry"]["at"].as_i64().expect("a time") + 1);
    browser
        .js("document.getElementById('receipt-json').value = ''; return null;")
        .await;
    browser
        .type_into("#receipt-json", &retimed.to_string())
        .await;
    browser
        .click_until("#check-receipt", "#receipt-result[data-verified='false']")
        .await;
    browser
        .wait_for_text("#receipt-result", "time is not what its hashed body says")
        .await;
    browser.record_page("ledger").await;

    // A resident of the household where the fire started reads the
    // warning, and checks the receipt of the points they bought.
    browser.click("#logout").await;
    let token = c.person("resident", resident).await;
    c.admin
        .get(&format!(
            "/api/v1/communities/sunny-garden/map/people/{resident}?reason=call%20about%20the%20fire"
        ))
        .await
        .expect(200);
    browser
        .type_into("form.login input[type=password]", token.token())
        .await;
    browser.click("form.login button[type=submit]").await;
    browser
        .wait_for("#inbox li[data-topic='fire-confirmed']")
        .await;
    assert!(
        !browser.has("#nav a[href='#/catalog']").await,
        "a resident is offered no admin page"
    );
    browser
        .wait_for_text("#parking-mine", "Points to spend: 100")
        .await;
    let account = format!("[data-account='parking/parkers/{resident}']");
    browser
        .click_until(
            &format!("{account} button[data-verify]"),
            &format!("{account} .verification[data-verified='true']"),
        )
        .await;
    // Who read her contact details, and a consent given here, in force at once.
    browser
        .wait_for_text(
            "#access-log tr[data-category='contact']",
            "call about the fire",
        )
        .await;
    browser
        .click_until(
            "#consents li[data-purpose='health-monitoring'] button[data-action='give']",
            "#consents li[data-purpose='health-monitoring'][data-given='true']",
        )
        .await;
    let consents = token.get("/api/v1/me/consents").await.expect(200);
    let health = consents["states"]
        .as_array()
        .expect("states")
        .iter()
        .find(|s| s["purpose"] == "health-monitoring")
        .expect("health monitoring")
        .clone();
    assert_eq!(health["given"], true, "{consents}");
    assert!(
        health["record"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("heart rate")),
        "the words she was shown are recorded: {health}"
    );
    browser.record_page("resident").await;
    browser
        .click_until(
            "#inbox li[data-topic='fire-confirmed'] button[data-action='read']",
            "#inbox li.read[data-topic='fire-confirmed']",
        )
        .await;
    browser.resize(390, 844).await;
    browser.screenshot("resident-phone").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_tells_a_token_who_it_is_an_installation_how_it_does_and_a_person_their_accounts() {
    let host = TestHost::start().await;
    let c = sunny_garden(&host).await;
    let id = c.install(FIRE, requested_grants(FIRE), json!({})).await;
    let base = format!("/api/v1/communities/{}/installations/{id}", c.id);

    let me = c.admin.get("/api/v1/me").await.expect(200);
    assert_eq!(
        me,
        json!({"role": "community-admin", "community": "sunny-garden", "subject": "sunny-garden-admin", "person": null})
    );
    let resident = c.person("resident", "person-120").await;
    assert_eq!(
        resident.get("/api/v1/me").await.expect(200)["person"],
        "person-120"
    );
    assert_eq!(
        c.admin
            .with_token("no-such-token")
            .get("/api/v1/me")
            .await
            .status,
        401
    );

    let detector = c
        .placed_device("smoke-b3-201", "smoke-detector", &["smoke"], Some("b3-201"))
        .await;
    c.send_handled(&id, &detector, "smoke", json!(8.5)).await;
    let stats = c.admin.get(&format!("{base}/stats")).await.expect(200);
    assert!(stats["events_handled"].as_u64() >= Some(1), "{stats}");
    assert_eq!(stats["backlog"], 0);
    assert_eq!(stats["dead_letters"], json!({}));
    assert_eq!(stats["failures"], json!({}));
    assert_eq!(
        resident.get(&format!("{base}/stats")).await.status,
        403,
        "residents do not read installations"
    );

    // hello-scene logs the first reading of each kind; its log shows it.
    let hello = host.install_hello(&c).await;
    let thermometer = c.device("thermometer", &["temperature"]).await;
    c.send_handled(&hello, &thermometer, "temperature", json!(21.5))
        .await;
    let hello_log = format!("/api/v1/communities/{}/installations/{hello}/log", c.id);
    let lines = c.admin.get(&hello_log).await.expect(200);
    let logged = |line: &Value| {
        line["level"] == "info"
            && line["line"]
                .as_str()
                .is_some_and(|text| text.contains("first temperature reading"))
    };
    assert!(
        lines
            .as_array()
            .is_some_and(|lines| lines.iter().any(logged)),
        "{lines}"
    );
    let log = c
        .admin
        .get(&format!("{base}/log?limit=5"))
        .await
        .expect(200);
    assert!(
        log.as_array().is_some_and(|lines| lines.len() <= 5),
        "{log}"
    );
    for bad in ["limit=0", "limit=201", "limit=many"] {
        let refused = c.admin.get(&format!("{base}/log?{bad}")).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert_eq!(refused.body["error"]["code"], "invalid", "{bad}");
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("limit")),
            "{bad}: {}",
            refused.body
        );
    }
    assert_eq!(
        c.admin
            .get(&format!(
                "/api/v1/communities/{}/installations/inst-none/stats",
                c.id
            ))
            .await
            .status,
        404
    );

    // A person's own accounts; a token standing for nobody has none to list.
    let mine = resident.get("/api/v1/me/ledger/accounts").await.expect(200);
    assert!(
        mine.as_array()
            .is_some_and(|accounts| accounts.iter().all(|a| a["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("/person-120")))),
        "{mine}"
    );
    let refused = c.admin.get("/api/v1/me/ledger/accounts").await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"]["code"], "forbidden");

    // The routes are in the OpenAPI document.
    let openapi = c.admin.get("/api/v1/openapi.json").await.expect(200);
    for path in [
        "/api/v1/me",
        "/api/v1/me/ledger/accounts",
        "/api/v1/communities/{community}/installations/{installation}/stats",
        "/api/v1/communities/{community}/installations/{installation}/log",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} is documented");
    }
    assert_eq!(c.admin.try_get("/console/").await, Some(StatusCode::OK));
}
