//! `/api/user` and `/api/user/{id}`: user management by admins.

use crate::helpers::{assert_common, fails, ok, snapshot, World};
use gateway::store::users::NewUser;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_list_get_update_and_delete_users() {
    let w = World::new().await;
    let gw = &w.gw;
    let body = json!({"username": "sam", "password": "sam-password", "display_name": "Sam S", "email": "sam@example.com", "quota": 5000, "group": "vip"});
    let d = ok(&gw.post("/api/user", Some(&w.admin), body).await, 201);
    let id = d["id"].as_i64().unwrap();
    assert_eq!(d["username"], "sam");
    assert_eq!(d["display_name"], "Sam S");
    assert_eq!(d["email"], "sam@example.com");
    assert_eq!(d["quota"], 5000);
    assert_eq!(d["group"], "vip");
    assert_eq!(d["role"], 1);
    assert_eq!(d["status"], 1);
    assert_eq!(d["must_change_password"], false);

    let list = ok(&gw.get("/api/user", Some(&w.admin)).await, 200);
    assert_eq!(list["total"], 5);
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["username"] == "sam"));
    let got = ok(
        &gw.get(&format!("/api/user/{id}"), Some(&w.admin)).await,
        200,
    );
    assert_eq!(got["username"], "sam");

    let update = json!({"display_name": "Samuel", "email": "", "quota": 9000, "group": "default", "status": 2});
    let d = ok(
        &gw.put(&format!("/api/user/{id}"), Some(&w.admin), update)
            .await,
        200,
    );
    assert_eq!(d["display_name"], "Samuel");
    assert_eq!(d["email"], "");
    assert_eq!(d["quota"], 9000);
    assert_eq!(d["group"], "default");
    assert_eq!(d["status"], 2);
    assert_eq!(d["username"], "sam");

    ok(
        &gw.delete(&format!("/api/user/{id}"), Some(&w.admin)).await,
        200,
    );
    fails(
        &gw.get(&format!("/api/user/{id}"), Some(&w.admin)).await,
        404,
    );
    fails(
        &gw.put(
            &format!("/api/user/{id}"),
            Some(&w.admin),
            json!({"quota": 1}),
        )
        .await,
        404,
    );
    fails(
        &gw.delete(&format!("/api/user/{id}"), Some(&w.admin)).await,
        404,
    );
    fails(&gw.try_login("sam", "sam-password").await, 401);
    assert_eq!(
        ok(&gw.get("/api/user", Some(&w.admin)).await, 200)["total"],
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_ends_their_sessions_and_removes_their_tokens() {
    let w = World::new().await;
    let gw = &w.gw;
    let (token_id, _) = gw.create_key(&w.user, json!({"name": "k"})).await;
    ok(
        &gw.delete(&format!("/api/user/{}", w.user_id), Some(&w.admin))
            .await,
        200,
    );
    fails(&gw.get("/api/user/self", Some(&w.user)).await, 401);
    fails(&gw.get("/api/token", Some(&w.user)).await, 401);
    assert!(gw
        .state
        .store
        .token_by_id(token_id)
        .await
        .unwrap()
        .is_none());
    // The name is free again, and the new account does not inherit the old sessions.
    let (new_id, _) = gw.create_user(&w.root, "bob_user", 1, 0).await;
    assert_ne!(new_id, w.user_id);
    fails(&gw.get("/api/user/self", Some(&w.user)).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_lists_are_paged_capped_and_searchable_with_escaped_wildcards() {
    let w = World::new().await;
    let gw = &w.gw;
    // Bulk rows straight into the store: hashing 100 passwords would only slow the test.
    for i in 0..100 {
        let email = if i == 7 {
            "percent%sign@example.com".to_string()
        } else {
            String::new()
        };
        gw.state
            .store
            .create_user(NewUser {
                username: format!("bulk{i:03}"),
                password_hash: "not-a-real-hash".into(),
                display_name: format!("Bulk User {i}"),
                email,
                role: 1,
                group: "default".into(),
                quota: 0,
                must_change_password: false,
            })
            .await
            .unwrap();
    }
    let d = ok(
        &gw.get("/api/user?page_size=101", Some(&w.admin)).await,
        200,
    );
    assert_eq!(d["total"], 104);
    assert_eq!(d["page_size"], 100);
    assert_eq!(d["items"].as_array().unwrap().len(), 100);
    let d = ok(
        &gw.get("/api/user?p=2&page_size=100", Some(&w.admin)).await,
        200,
    );
    assert_eq!(d["items"].as_array().unwrap().len(), 4);
    let d = ok(
        &gw.get("/api/user?p=0&page_size=0", Some(&w.admin)).await,
        200,
    );
    assert_eq!(d["page"], 1);
    assert!(d["page_size"].as_i64().unwrap() >= 1);
    let d = ok(
        &gw.get(
            "/api/user?p=9223372036854775807&page_size=100",
            Some(&w.admin),
        )
        .await,
        200,
    );
    assert_eq!(d["items"], json!([]));

    let names = |d: &Value| -> Vec<String> {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    let d = ok(&gw.get("/api/user?keyword=%25", Some(&w.admin)).await, 200);
    assert_eq!(
        names(&d),
        ["bulk007"],
        "`%` must be a literal (matched via email)"
    );
    let d = ok(&gw.get("/api/user?keyword=_", Some(&w.admin)).await, 200);
    let mut found = names(&d);
    found.sort();
    assert_eq!(
        found,
        ["alice_admin", "bob_user", "carol_user"],
        "`_` must be a literal"
    );
    let d = ok(
        &gw.get("/api/user?keyword=BULK09", Some(&w.admin)).await,
        200,
    );
    assert_eq!(d["total"], 10, "case-insensitive: {:?}", names(&d));
    let d = ok(
        &gw.get("/api/user?keyword=bulk%20user%2042", Some(&w.admin))
            .await,
        200,
    );
    assert_eq!(names(&d), ["bulk042"], "display_name is searched");
    let d = ok(
        &gw.get("/api/user?keyword=%FF%FE", Some(&w.admin)).await,
        200,
    );
    assert_eq!(d["total"], 0);
    assert!(!d.to_string().contains("not-a-real-hash"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_user_updates_are_validated_and_change_nothing_on_error() {
    let w = World::new().await;
    let gw = &w.gw;
    let path = format!("/api/user/{}", w.user_id);
    let before = snapshot(gw, &path, &w.root).await;
    let bad = [
        json!({"quota": -1}),
        json!({"quota": 1e30}),
        json!({"quota": 1.5}),
        json!({"quota": "100"}),
        json!({"status": 0}),
        json!({"status": 3}),
        json!({"role": 5}),
        json!({"role": 0}),
        json!({"role": "admin"}),
        json!({"group": ""}),
        json!({"group": "has space"}),
        json!({"email": "nope"}),
        json!({"display_name": "d".repeat(65)}),
        json!({"password": "short"}),
        json!({"username": "renamed"}),
        json!({"quota": 10, "status": 9}),
        json!({"display_name": "ok", "quota": -5}),
        json!({"must_change_password": true}),
    ];
    for body in bad {
        let r = gw.put(&path, Some(&w.root), body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        fails(&r, 400);
    }
    assert_eq!(snapshot(gw, &path, &w.root).await, before);
    gw.login("bob_user", "bob_user-password").await;

    let creates = [
        json!({"username": "x1", "password": "long-enough"}),
        json!({"username": "newbie", "password": "short"}),
        json!({"username": "newbie", "password": "long-enough", "quota": -1}),
        json!({"username": "newbie", "password": "long-enough", "role": 7}),
        json!({"username": "newbie", "password": "long-enough", "email": "x"}),
        json!({"username": "newbie", "password": "long-enough", "group": "a/b"}),
        json!({"username": "newbie"}),
        json!({"username": "newbie", "password": "long-enough", "status": 2}),
    ];
    for body in creates {
        let r = gw.post("/api/user", Some(&w.root), body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        fails(&r, 400);
    }
    assert_eq!(gw.state.store.count_users().await.unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashes_never_appear_in_any_response() {
    let w = World::new().await;
    let gw = &w.gw;
    let responses = [
        gw.try_login("bob_user", "bob_user-password").await,
        gw.get("/api/user/self", Some(&w.user)).await,
        gw.put(
            "/api/user/self",
            Some(&w.user),
            json!({"display_name": "B"}),
        )
        .await,
        gw.get("/api/user", Some(&w.root)).await,
        gw.get(&format!("/api/user/{}", w.user_id), Some(&w.admin))
            .await,
        gw.get("/api/user/1", Some(&w.admin)).await,
        gw.put(
            &format!("/api/user/{}", w.user_id),
            Some(&w.admin),
            json!({"password": "brand-new-password"}),
        )
        .await,
        gw.post(
            "/api/user",
            Some(&w.root),
            json!({"username": "uma", "password": "uma-password"}),
        )
        .await,
        gw.post(
            "/api/user/register",
            None,
            json!({"username": "vic", "password": "vic-password"}),
        )
        .await,
    ];
    let hash = gw
        .state
        .store
        .user_by_id(w.user_id)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(hash.starts_with("$2"), "bcrypt expected: {hash}");
    for r in &responses {
        assert!(r.status.is_success(), "{}", r.text);
        assert_common(r);
        assert!(!r.text.contains(&hash[7..]), "{}", r.text);
        assert!(
            !r.text.contains("password_hash") && !r.text.contains("session_version"),
            "{}",
            r.text
        );
    }
}
