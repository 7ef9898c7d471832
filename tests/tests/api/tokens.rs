//! `/api/token`: the caller's own API keys.

use crate::helpers::{fails, ok, snapshot, World};
use integration_tests::gateway_support::TestGateway;
use serde_json::{json, Value};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn user_gateway() -> (TestGateway, String) {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let (_, jwt) = gw.create_user(&root, "tess", 1, 0).await;
    (gw, jwt)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_crud_round_trip_for_the_owner() {
    let (gw, jwt) = user_gateway().await;
    let r = gw
        .post("/api/token", Some(&jwt), json!({"name": "laptop"}))
        .await;
    let created = ok(&r, 201);
    let id = created["id"].as_i64().unwrap();
    for field in [
        "id",
        "name",
        "key_prefix",
        "status",
        "remain_quota",
        "used_quota",
        "unlimited_quota",
        "expired_at",
        "models",
        "allow_ips",
        "request_count",
        "created_at",
        "last_used_at",
    ] {
        assert!(
            created.get(field).is_some(),
            "token lacks {field}: {created}"
        );
    }
    assert_eq!(created["name"], "laptop");
    assert_eq!(created["status"], 1);
    assert_eq!(created["expired_at"], Value::Null);
    assert_eq!(created["models"], json!([]));
    assert_eq!(created["allow_ips"], json!([]));

    let got = ok(&gw.get(&format!("/api/token/{id}"), Some(&jwt)).await, 200);
    assert_eq!(got["name"], "laptop");
    let list = ok(&gw.get("/api/token", Some(&jwt)).await, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id);

    let update = json!({"name": "desktop", "status": 2, "models": ["gpt-4o"], "remain_quota": 500, "unlimited_quota": false});
    let d = ok(
        &gw.put(&format!("/api/token/{id}"), Some(&jwt), update)
            .await,
        200,
    );
    assert_eq!(d["name"], "desktop");
    assert_eq!(d["status"], 2);
    assert_eq!(d["models"], json!(["gpt-4o"]));
    assert_eq!(d["remain_quota"], 500);
    assert_eq!(d["unlimited_quota"], false);
    let d = ok(
        &gw.put(
            &format!("/api/token/{id}"),
            Some(&jwt),
            json!({"status": 1}),
        )
        .await,
        200,
    );
    assert_eq!(d["status"], 1);
    assert_eq!(d["name"], "desktop", "fields not given stay as they were");
    // Owners switch between enabled and disabled only.
    for status in [0, 3, 4, 5, -1] {
        fails(
            &gw.put(
                &format!("/api/token/{id}"),
                Some(&jwt),
                json!({"status": status}),
            )
            .await,
            400,
        );
    }
    fails(
        &gw.post("/api/token", Some(&jwt), json!({"name": "x", "status": 2}))
            .await,
        400,
    );

    ok(
        &gw.delete(&format!("/api/token/{id}"), Some(&jwt)).await,
        200,
    );
    fails(&gw.get(&format!("/api/token/{id}"), Some(&jwt)).await, 404);
    fails(
        &gw.put(
            &format!("/api/token/{id}"),
            Some(&jwt),
            json!({"name": "z"}),
        )
        .await,
        404,
    );
    fails(
        &gw.delete(&format!("/api/token/{id}"), Some(&jwt)).await,
        404,
    );
    assert_eq!(ok(&gw.get("/api/token", Some(&jwt)).await, 200)["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_key_is_returned_only_on_create_and_its_hash_never() {
    let (gw, jwt) = user_gateway().await;
    let r = gw
        .post("/api/token", Some(&jwt), json!({"name": "ci"}))
        .await;
    let created = ok(&r, 201);
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_i64().unwrap();
    assert!(key.starts_with("sk-") && key.len() == 51, "{key}");
    assert!(key[3..].bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
    let prefix = created["key_prefix"].as_str().unwrap();
    assert!(
        prefix.starts_with(&key[..7]) && prefix.ends_with(&key[key.len() - 4..]),
        "{prefix}"
    );
    assert!(!prefix.contains(&key[7..key.len() - 4]), "{prefix}");

    // Only the SHA-256 is stored, and it is the one the gateway looks keys up by.
    let hash = gateway::auth::api_key::hash(&key);
    let stored = gw.state.store.token_by_id(id).await.unwrap().unwrap();
    assert_eq!(stored.key_hash, hash);
    assert!(!r.text.contains(&hash), "create response leaks the hash");

    let responses = [
        gw.get(&format!("/api/token/{id}"), Some(&jwt)).await,
        gw.get("/api/token", Some(&jwt)).await,
        gw.get("/api/token?keyword=ci", Some(&jwt)).await,
        gw.put(
            &format!("/api/token/{id}"),
            Some(&jwt),
            json!({"name": "ci-2"}),
        )
        .await,
        gw.put(
            &format!("/api/token/{id}"),
            Some(&jwt),
            json!({"status": 2}),
        )
        .await,
        gw.get("/api/user/self", Some(&jwt)).await,
        gw.delete(&format!("/api/token/{id}"), Some(&jwt)).await,
    ];
    for r in &responses {
        assert!(r.status.is_success(), "{}", r.text);
        assert!(!r.text.contains(&key), "full key leaked: {}", r.text);
        assert!(
            !r.text.contains(&key[7..key.len() - 4]),
            "key body leaked: {}",
            r.text
        );
        assert!(!r.text.contains(&hash), "key hash leaked: {}", r.text);
        assert!(!r.text.contains("key_hash"), "{}", r.text);
    }
    assert_eq!(responses[0].body["data"]["key_prefix"], prefix);
    assert!(responses[0].body["data"].get("key").is_none());
    assert_eq!(responses[1].body["data"]["items"][0]["key_prefix"], prefix);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_defaults_follow_the_fields_given() {
    let (gw, jwt) = user_gateway().await;
    let cases = [
        (json!({"name": "a"}), true, 0),
        (json!({"name": "b", "remain_quota": 700}), false, 700),
        (json!({"name": "c", "remain_quota": 0}), false, 0),
        (json!({"name": "d", "unlimited_quota": false}), false, 0),
        (
            json!({"name": "e", "unlimited_quota": true, "remain_quota": 5}),
            true,
            5,
        ),
    ];
    for (body, unlimited, remain) in cases {
        let d = ok(&gw.post("/api/token", Some(&jwt), body.clone()).await, 201);
        assert_eq!(d["unlimited_quota"], unlimited, "{body}: {d}");
        assert_eq!(d["remain_quota"], remain, "{body}: {d}");
    }
    for body in [
        json!({"name": "f", "remain_quota": -1}),
        json!({"name": "f", "remain_quota": 1e30}),
        json!({"name": "f", "remain_quota": 1.5}),
        json!({"name": "f", "remain_quota": "100"}),
        json!({"name": "f", "unlimited_quota": "yes"}),
        json!({"name": "f", "rate_limit_per_minute": -5}),
    ] {
        fails(&gw.post("/api/token", Some(&jwt), body).await, 400);
    }
    assert_eq!(ok(&gw.get("/api/token", Some(&jwt)).await, 200)["total"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_and_allow_ips_accept_arrays_and_comma_separated_strings() {
    let (gw, jwt) = user_gateway().await;
    let body = json!({"name": "csv", "models": "gpt-4o, gpt-4o-mini,,gpt-4o", "allow_ips": "10.0.0.0/8, 192.168.1.7,2001:db8::/32"});
    let d = ok(&gw.post("/api/token", Some(&jwt), body).await, 201);
    assert_eq!(d["models"], json!(["gpt-4o", "gpt-4o-mini"]));
    assert_eq!(
        d["allow_ips"],
        json!(["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"])
    );
    let id = d["id"].as_i64().unwrap();

    let body =
        json!({"name": "arr", "models": ["claude-3-5-sonnet"], "allow_ips": ["127.0.0.1", "::1"]});
    let d = ok(&gw.post("/api/token", Some(&jwt), body).await, 201);
    assert_eq!(d["models"], json!(["claude-3-5-sonnet"]));
    assert_eq!(d["allow_ips"], json!(["127.0.0.1", "::1"]));

    // Updates take both forms too; an empty value clears the list.
    let path = format!("/api/token/{id}");
    let d = ok(
        &gw.put(
            &path,
            Some(&jwt),
            json!({"models": "a,b", "allow_ips": ["1.2.3.4"]}),
        )
        .await,
        200,
    );
    assert_eq!(d["models"], json!(["a", "b"]));
    assert_eq!(d["allow_ips"], json!(["1.2.3.4"]));
    let d = ok(
        &gw.put(&path, Some(&jwt), json!({"models": "", "allow_ips": []}))
            .await,
        200,
    );
    assert_eq!(d["models"], json!([]));
    assert_eq!(d["allow_ips"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_ips_and_cidrs_are_rejected_and_nothing_changes() {
    let (gw, jwt) = user_gateway().await;
    let (id, _) = gw
        .create_key(&jwt, json!({"name": "keep", "allow_ips": ["10.1.2.3"]}))
        .await;
    let before = snapshot(&gw, "/api/token", &jwt).await;
    for bad in [
        json!("10.0.0.0/33"),
        json!("999.1.1.1"),
        json!("example.com"),
        json!("10.0.0.1, not-an-ip"),
        json!(["1.2.3"]),
        json!(["::g"]),
        json!("1.2.3.4/"),
        json!([1, 2]),
        json!({"ip": "1.2.3.4"}),
    ] {
        let r = gw
            .post(
                "/api/token",
                Some(&jwt),
                json!({"name": "new", "allow_ips": bad.clone()}),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        fails(&r, 400);
        fails(
            &gw.put(
                &format!("/api/token/{id}"),
                Some(&jwt),
                json!({"name": "renamed", "allow_ips": bad}),
            )
            .await,
            400,
        );
    }
    assert_eq!(snapshot(&gw, "/api/token", &jwt).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_at_in_the_past_is_rejected_and_null_means_never() {
    let (gw, jwt) = user_gateway().await;
    let future = now() + 86_400;
    let d = ok(
        &gw.post(
            "/api/token",
            Some(&jwt),
            json!({"name": "f", "expired_at": future}),
        )
        .await,
        201,
    );
    assert_eq!(d["expired_at"], future);
    let id = d["id"].as_i64().unwrap();
    let d = ok(
        &gw.post(
            "/api/token",
            Some(&jwt),
            json!({"name": "n", "expired_at": null}),
        )
        .await,
        201,
    );
    assert_eq!(d["expired_at"], Value::Null);
    // new-api clients send -1 for "never".
    let d = ok(
        &gw.post(
            "/api/token",
            Some(&jwt),
            json!({"name": "m", "expired_at": -1}),
        )
        .await,
        201,
    );
    assert_eq!(d["expired_at"], Value::Null);

    let before = snapshot(&gw, "/api/token", &jwt).await;
    for past in [
        json!(now() - 10),
        json!(1),
        json!(-5),
        json!("tomorrow"),
        json!(1e30),
        json!(i64::MAX),
    ] {
        fails(
            &gw.post(
                "/api/token",
                Some(&jwt),
                json!({"name": "p", "expired_at": past.clone()}),
            )
            .await,
            400,
        );
        fails(
            &gw.put(
                &format!("/api/token/{id}"),
                Some(&jwt),
                json!({"expired_at": past}),
            )
            .await,
            400,
        );
    }
    assert_eq!(snapshot(&gw, "/api/token", &jwt).await, before);
    let d = ok(
        &gw.put(
            &format!("/api/token/{id}"),
            Some(&jwt),
            json!({"expired_at": null}),
        )
        .await,
        200,
    );
    assert_eq!(d["expired_at"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_lists_are_paged_capped_at_100_and_searchable_with_escaped_wildcards() {
    let (gw, jwt) = user_gateway().await;
    for i in 0..104 {
        gw.create_key(&jwt, json!({"name": format!("tok-{i:03}")}))
            .await;
    }
    for name in ["50%off", "a_b"] {
        gw.create_key(&jwt, json!({"name": name})).await;
    }
    let d = ok(&gw.get("/api/token?page_size=1000", Some(&jwt)).await, 200);
    assert_eq!(d["total"], 106);
    assert_eq!(d["page_size"], 100);
    assert_eq!(d["page"], 1);
    assert_eq!(d["items"].as_array().unwrap().len(), 100);
    let d = ok(
        &gw.get("/api/token?p=2&page_size=100", Some(&jwt)).await,
        200,
    );
    assert_eq!(d["items"].as_array().unwrap().len(), 6);
    assert_eq!(d["page"], 2);
    let d = ok(
        &gw.get("/api/token?p=3&page_size=50", Some(&jwt)).await,
        200,
    );
    assert_eq!(d["items"].as_array().unwrap().len(), 6);
    let d = ok(&gw.get("/api/token?p=99", Some(&jwt)).await, 200);
    assert_eq!(d["items"], json!([]));
    assert_eq!(d["total"], 106);
    // Pages do not overlap and cover everything.
    let mut ids = std::collections::BTreeSet::new();
    for p in 1..=11 {
        let d = ok(
            &gw.get(&format!("/api/token?p={p}&page_size=10"), Some(&jwt))
                .await,
            200,
        );
        for t in d["items"].as_array().unwrap() {
            assert!(ids.insert(t["id"].as_i64().unwrap()), "token on two pages");
        }
    }
    assert_eq!(ids.len(), 106);

    let names = |d: &Value| -> Vec<String> {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let d = ok(&gw.get("/api/token?keyword=%25", Some(&jwt)).await, 200);
    assert_eq!(names(&d), ["50%off"], "`%` is a literal");
    assert_eq!(d["total"], 1);
    let d = ok(&gw.get("/api/token?keyword=_", Some(&jwt)).await, 200);
    assert_eq!(names(&d), ["a_b"], "`_` is a literal");
    let d = ok(&gw.get("/api/token?keyword=TOK-10", Some(&jwt)).await, 200);
    assert_eq!(d["total"], 4, "case-insensitive substring: {:?}", names(&d));
    let d = ok(
        &gw.get("/api/token?keyword=nothing-like-this", Some(&jwt))
            .await,
        200,
    );
    assert_eq!(d["total"], 0);
    fails(&gw.get("/api/token?p=abc", Some(&jwt)).await, 400);
    fails(&gw.get("/api/token?page_size=1e3", Some(&jwt)).await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_cannot_see_edit_or_delete_another_users_token() {
    let w = World::new().await;
    let gw = &w.gw;
    let (id, key) = gw.create_key(&w.user, json!({"name": "bobs"})).await;
    let path = format!("/api/token/{id}");
    for jwt in [&w.other, &w.admin, &w.root] {
        fails(&gw.get(&path, Some(jwt)).await, 404);
        fails(
            &gw.put(&path, Some(jwt), json!({"name": "stolen", "status": 2}))
                .await,
            404,
        );
        fails(&gw.delete(&path, Some(jwt)).await, 404);
        let list = ok(&gw.get("/api/token", Some(jwt)).await, 200);
        assert_eq!(list["total"], 0, "another user's token listed: {list}");
    }
    let mine = ok(&gw.get(&path, Some(&w.user)).await, 200);
    assert_eq!(mine["name"], "bobs");
    assert_eq!(mine["status"], 1);
    let stored = gw.state.store.token_by_id(id).await.unwrap().unwrap();
    assert_eq!(stored.key_hash, gateway::auth::api_key::hash(&key));
}
