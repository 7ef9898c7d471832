//! `/api/channel`: upstream providers, managed by admins.

use crate::helpers::{fails, ok, snapshot, World};
use integration_tests::gateway_support::TestGateway;
use serde_json::{json, Value};

const KEY: &str = "sk-upstream-secret-0123456789-WXYZ";

fn openai(name: &str) -> Value {
    json!({"name": name, "type": 1, "key": KEY, "models": ["gpt-4o", "gpt-4o-mini"]})
}

async fn admin_gateway() -> (TestGateway, String) {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    (gw, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_crud_round_trip_with_defaults() {
    let (gw, jwt) = admin_gateway().await;
    let d = ok(
        &gw.post("/api/channel", Some(&jwt), openai("main")).await,
        201,
    );
    let id = d["id"].as_i64().unwrap();
    assert_eq!(d["type"], 1);
    assert_eq!(d["name"], "main");
    assert_eq!(d["base_url"], "https://api.openai.com");
    assert_eq!(d["models"], json!(["gpt-4o", "gpt-4o-mini"]));
    assert_eq!(d["model_mapping"], json!({}));
    assert_eq!(d["priority"], 0);
    assert_eq!(d["weight"], 1);
    assert_eq!(d["group"], "default");
    assert_eq!(d["use_relay"], Value::Null);
    assert_eq!(d["status"], 1);

    let got = ok(
        &gw.get(&format!("/api/channel/{id}"), Some(&jwt)).await,
        200,
    );
    assert_eq!(got["name"], "main");
    let list = ok(&gw.get("/api/channel", Some(&jwt)).await, 200);
    assert_eq!(list["total"], 1);

    let update = json!({
        "name": "renamed", "models": "gpt-4o,o3", "model_mapping": {"gpt-4o": "gpt-4o-2024-08-06"},
        "priority": 5, "weight": 0, "group": "vip", "use_relay": true, "status": 2
    });
    let d = ok(
        &gw.put(&format!("/api/channel/{id}"), Some(&jwt), update)
            .await,
        200,
    );
    assert_eq!(d["name"], "renamed");
    assert_eq!(d["models"], json!(["gpt-4o", "o3"]));
    assert_eq!(d["model_mapping"], json!({"gpt-4o": "gpt-4o-2024-08-06"}));
    assert_eq!(d["priority"], 5);
    assert_eq!(d["weight"], 0);
    assert_eq!(d["group"], "vip");
    assert_eq!(d["use_relay"], true);
    assert_eq!(d["status"], 2);
    assert_eq!(d["type"], 1, "fields not given stay as they were");
    let d = ok(
        &gw.put(
            &format!("/api/channel/{id}"),
            Some(&jwt),
            json!({"use_relay": null}),
        )
        .await,
        200,
    );
    assert_eq!(d["use_relay"], Value::Null);
    assert_eq!(d["group"], "vip");

    ok(
        &gw.delete(&format!("/api/channel/{id}"), Some(&jwt)).await,
        200,
    );
    fails(
        &gw.get(&format!("/api/channel/{id}"), Some(&jwt)).await,
        404,
    );
    fails(
        &gw.put(
            &format!("/api/channel/{id}"),
            Some(&jwt),
            json!({"name": "x"}),
        )
        .await,
        404,
    );
    fails(
        &gw.delete(&format!("/api/channel/{id}"), Some(&jwt)).await,
        404,
    );
    assert_eq!(
        ok(&gw.get("/api/channel", Some(&jwt)).await, 200)["total"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_keys_are_never_returned_only_the_last_four_characters() {
    let w = World::new().await;
    let gw = &w.gw;
    let r = gw
        .post("/api/channel", Some(&w.admin), openai("secret"))
        .await;
    let id = ok(&r, 201)["id"].as_i64().unwrap();
    let stored = gw.state.store.channel_by_id(id).await.unwrap().unwrap();
    assert!(
        !stored.key_ciphertext.contains("upstream-secret"),
        "key stored in clear"
    );
    let responses = [
        r,
        gw.get(&format!("/api/channel/{id}"), Some(&w.admin)).await,
        gw.get(&format!("/api/channel/{id}"), Some(&w.root)).await,
        gw.get("/api/channel", Some(&w.admin)).await,
        gw.get("/api/channel?keyword=secret", Some(&w.root)).await,
        gw.put(
            &format!("/api/channel/{id}"),
            Some(&w.admin),
            json!({"priority": 3}),
        )
        .await,
    ];
    for r in &responses {
        assert!(r.status.is_success(), "{}", r.text);
        assert!(
            !r.text.contains("upstream-secret"),
            "channel key leaked: {}",
            r.text
        );
        assert!(
            !r.text.contains(&stored.key_ciphertext),
            "ciphertext leaked: {}",
            r.text
        );
        assert!(!r.text.contains("key_ciphertext"), "{}", r.text);
    }
    let one = &responses[1].body["data"];
    assert_eq!(one["key_preview"], "WXYZ");
    assert!(one.get("key").is_none(), "{one}");
    assert_eq!(responses[3].body["data"]["items"][0]["key_preview"], "WXYZ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_a_channel_without_a_key_keeps_the_key() {
    let (gw, jwt) = admin_gateway().await;
    let id = gw.create_channel(&jwt, openai("keep")).await;
    let original = gw.state.store.channel_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        &*gw.state.secret_box.open(&original.key_ciphertext).unwrap(),
        KEY
    );

    for body in [
        json!({"name": "still"}),
        json!({"key": null}),
        json!({"key": "", "priority": 1}),
    ] {
        let d = ok(
            &gw.put(&format!("/api/channel/{id}"), Some(&jwt), body.clone())
                .await,
            200,
        );
        assert_eq!(d["key_preview"], "WXYZ", "{body}");
        let now = gw.state.store.channel_by_id(id).await.unwrap().unwrap();
        assert_eq!(
            now.key_ciphertext, original.key_ciphertext,
            "{body} changed the key"
        );
    }

    let new_key = "sk-rotated-key-abcdefghijklmn-QRST";
    let d = ok(
        &gw.put(
            &format!("/api/channel/{id}"),
            Some(&jwt),
            json!({"key": new_key}),
        )
        .await,
        200,
    );
    assert_eq!(d["key_preview"], "QRST");
    let rotated = gw.state.store.channel_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        &*gw.state.secret_box.open(&rotated.key_ciphertext).unwrap(),
        new_key
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_url_defaults_per_type_and_a_trailing_v1_is_trimmed() {
    let (gw, jwt) = admin_gateway().await;
    let cases = [
        (json!({"type": 1}), "https://api.openai.com"),
        (json!({"type": 14}), "https://api.anthropic.com"),
        (
            json!({"type": 24}),
            "https://generativelanguage.googleapis.com",
        ),
        (
            json!({"type": 1, "base_url": null}),
            "https://api.openai.com",
        ),
        (json!({"type": 1, "base_url": ""}), "https://api.openai.com"),
        (
            json!({"type": 99, "base_url": "https://llm.example.com/v1"}),
            "https://llm.example.com",
        ),
        (
            json!({"type": 99, "base_url": "https://llm.example.com/v1/"}),
            "https://llm.example.com",
        ),
        (
            json!({"type": 99, "base_url": "http://127.0.0.1:8080/"}),
            "http://127.0.0.1:8080",
        ),
        (
            json!({"type": 99, "base_url": "https://llm.example.com/openai/v1"}),
            "https://llm.example.com/openai",
        ),
        (
            json!({"type": 3, "base_url": "https://res.openai.azure.com", "api_version": "2024-10-21"}),
            "https://res.openai.azure.com",
        ),
    ];
    for (i, (extra, expected)) in cases.into_iter().enumerate() {
        let mut body = json!({"name": format!("c{i}"), "key": KEY, "models": ["m"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let d = ok(
            &gw.post("/api/channel", Some(&jwt), body.clone()).await,
            201,
        );
        assert_eq!(d["base_url"], expected, "{body}");
    }
    let before = snapshot(&gw, "/api/channel", &jwt).await;
    for extra in [
        json!({"type": 99}),
        json!({"type": 3}),
        json!({"type": 99, "base_url": ""}),
        json!({"type": 99, "base_url": "ftp://llm.example.com"}),
        json!({"type": 99, "base_url": "llm.example.com"}),
        json!({"type": 99, "base_url": "https://user:pass@llm.example.com"}),
        json!({"type": 99, "base_url": "https://llm.example.com/?key=1"}),
        json!({"type": 99, "base_url": 42}),
    ] {
        let mut body = json!({"name": "bad", "key": KEY, "models": ["m"]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let r = gw.post("/api/channel", Some(&jwt), body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        fails(&r, 400);
    }
    assert_eq!(snapshot(&gw, "/api/channel", &jwt).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_type_and_fields_are_validated_and_nothing_is_written_on_error() {
    let (gw, jwt) = admin_gateway().await;
    let id = gw.create_channel(&jwt, openai("existing")).await;
    let before = snapshot(&gw, "/api/channel", &jwt).await;
    let bad = [
        json!({"type": 2}),
        json!({"type": 0}),
        json!({"type": -1}),
        json!({"type": 1.5}),
        json!({"type": "1"}),
        json!({"type": 1.5}),
        json!({"type": 1e30}),
        json!({"type": null, "name": ""}),
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "n".repeat(65)}),
        json!({"key": 12345}),
        json!({"models": []}),
        json!({"models": ""}),
        json!({"models": [1, 2]}),
        json!({"model_mapping": ["a"]}),
        json!({"model_mapping": {"gpt-4o": 1}}),
        json!({"model_mapping": {"gpt-4o": ""}}),
        json!({"model_mapping": {"": "gpt-4o"}}),
        json!({"model_mapping": {"bad\u{7}name": "gpt-4o"}}),
        json!({"model_mapping": {"m".repeat(129): "gpt-4o"}}),
        json!({"models": ["m".repeat(129)]}),
        json!({"priority": "high"}),
        json!({"priority": 1e30}),
        json!({"weight": -1}),
        json!({"weight": 1.5}),
        json!({"group": ""}),
        json!({"group": "a,b"}),
        json!({"use_relay": "yes"}),
        json!({"status": 0}),
        json!({"status": 4}),
        json!({"api_version": 2024}),
        json!({"unknown_field": 1}),
    ];
    for patch in bad {
        let mut body = openai("new");
        body.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        let r = gw.post("/api/channel", Some(&jwt), body.clone()).await;
        assert_eq!(r.status, 400, "create {body}: {}", r.text);
        fails(&r, 400);
        let r = gw
            .put(&format!("/api/channel/{id}"), Some(&jwt), patch.clone())
            .await;
        assert_eq!(r.status, 400, "update {patch}: {}", r.text);
        fails(&r, 400);
    }
    // An empty key is refused on create (on update it means "keep the key").
    for key in ["", "   "] {
        let mut body = openai("new");
        body["key"] = json!(key);
        fails(&gw.post("/api/channel", Some(&jwt), body).await, 400);
    }
    for missing in ["name", "type", "key", "models"] {
        let mut body = openai("new");
        body.as_object_mut().unwrap().remove(missing);
        fails(&gw.post("/api/channel", Some(&jwt), body).await, 400);
    }
    assert_eq!(snapshot(&gw, "/api/channel", &jwt).await, before);
    let stored = gw.state.store.channel_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        &*gw.state.secret_box.open(&stored.key_ciphertext).unwrap(),
        KEY
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_lists_are_paged_and_searchable() {
    let (gw, jwt) = admin_gateway().await;
    for i in 0..12 {
        gw.create_channel(&jwt, openai(&format!("chan-{i:02}")))
            .await;
    }
    let mut special = openai("100%_special");
    special["models"] = json!(["claude-x"]);
    gw.create_channel(&jwt, special).await;
    let d = ok(
        &gw.get("/api/channel?p=2&page_size=5", Some(&jwt)).await,
        200,
    );
    assert_eq!(d["total"], 13);
    assert_eq!(d["page"], 2);
    assert_eq!(d["page_size"], 5);
    assert_eq!(d["items"].as_array().unwrap().len(), 5);
    let d = ok(&gw.get("/api/channel?page_size=500", Some(&jwt)).await, 200);
    assert_eq!(d["page_size"], 100);
    assert_eq!(d["items"].as_array().unwrap().len(), 13);
    let d = ok(&gw.get("/api/channel?keyword=%25", Some(&jwt)).await, 200);
    assert_eq!(d["total"], 1, "{d}");
    let d = ok(&gw.get("/api/channel?keyword=_", Some(&jwt)).await, 200);
    assert_eq!(d["total"], 1, "{d}");
    let d = ok(
        &gw.get("/api/channel?keyword=claude", Some(&jwt)).await,
        200,
    );
    assert_eq!(d["total"], 1, "search covers models: {d}");
    let d = ok(
        &gw.get("/api/channel?keyword=CHAN-0", Some(&jwt)).await,
        200,
    );
    assert_eq!(d["total"], 10);
}
