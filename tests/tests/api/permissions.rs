//! Who may call what: anonymous / user (1) / admin (10) / root (100), role grants and
//! actions on users of equal or higher rank.

use crate::helpers::{fails, ok, snapshot, World};
use integration_tests::gateway_support::Resp;
use reqwest::Method;
use serde_json::{json, Value};

const CHANNEL: &str =
    r#"{"name":"perm","type":1,"key":"sk-permission-test-key-0000","models":["gpt-4o"]}"#;

/// Calls one endpoint; `{id}` targets are created fresh so a permitted DELETE or PUT does
/// not affect later rows of the matrix.
async fn call(w: &World, jwt: Option<&str>, method: &Method, path: &str, body: &Value) -> Resp {
    let gw = &w.gw;
    let path = if path.contains("{user}") {
        let name = format!(
            "target{}",
            uuid::Uuid::new_v4().simple().to_string().get(..8).unwrap()
        );
        let r = gw
            .post(
                "/api/user",
                Some(&w.root),
                json!({"username": name, "password": "target-password"}),
            )
            .await;
        path.replace("{user}", &r.body["data"]["id"].to_string())
    } else if path.contains("{channel}") {
        let id = gw
            .create_channel(&w.root, serde_json::from_str(CHANNEL).unwrap())
            .await;
        path.replace("{channel}", &id.to_string())
    } else {
        path.to_string()
    };
    let mut req = gw.builder(method.clone(), &path, jwt);
    if !body.is_null() {
        req = req.json(body);
    }
    gw.send(req).await
}

fn admin_endpoints() -> Vec<(Method, &'static str, Value)> {
    let channel: Value = serde_json::from_str(CHANNEL).unwrap();
    vec![
        (Method::GET, "/api/user", Value::Null),
        (
            Method::POST,
            "/api/user",
            json!({"username": "made_here", "password": "made-password"}),
        ),
        (Method::GET, "/api/user/{user}", Value::Null),
        (Method::PUT, "/api/user/{user}", json!({"quota": 123})),
        (Method::DELETE, "/api/user/{user}", Value::Null),
        (Method::GET, "/api/channel", Value::Null),
        (Method::POST, "/api/channel", channel),
        (Method::GET, "/api/channel/{channel}", Value::Null),
        (
            Method::PUT,
            "/api/channel/{channel}",
            json!({"priority": 9}),
        ),
        (Method::DELETE, "/api/channel/{channel}", Value::Null),
    ]
}

fn root_endpoints() -> Vec<(Method, &'static str, Value)> {
    vec![
        (Method::GET, "/api/option", Value::Null),
        (
            Method::PUT,
            "/api/option",
            json!({"system_name": "Changed by caller"}),
        ),
    ]
}

fn session_endpoints() -> Vec<(Method, &'static str, Value)> {
    vec![
        (Method::GET, "/api/user/self", Value::Null),
        (Method::PUT, "/api/user/self", json!({"display_name": "x"})),
        (Method::POST, "/api/user/logout", Value::Null),
        (Method::GET, "/api/token", Value::Null),
        (Method::POST, "/api/token", json!({"name": "t"})),
        (Method::GET, "/api/token/1", Value::Null),
        (Method::PUT, "/api/token/1", json!({"name": "t"})),
        (Method::DELETE, "/api/token/1", Value::Null),
    ]
}

async fn state_of(w: &World) -> (Value, Value, Value) {
    let users = snapshot(&w.gw, "/api/user?page_size=100", &w.root).await;
    let channels = snapshot(&w.gw, "/api/channel?page_size=100", &w.root).await;
    let options = snapshot(&w.gw, "/api/option", &w.root).await;
    (users, channels, options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_get_401_on_every_session_admin_and_root_endpoint() {
    let w = World::new().await;
    let all = [session_endpoints(), admin_endpoints(), root_endpoints()].concat();
    for (method, path, body) in &all {
        let before = state_of(&w).await;
        let r = call(&w, None, method, path, body).await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
        fails(&r, 401);
        let after = state_of(&w).await;
        // Only the rows `call` itself created for `{id}` paths may differ.
        if !path.contains('{') {
            assert_eq!(before, after, "{method} {path} changed state");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_get_403_on_admin_and_root_endpoints_and_nothing_changes() {
    let w = World::new().await;
    for (method, path, body) in [admin_endpoints(), root_endpoints()].concat() {
        let r = call(&w, Some(&w.user), &method, path, &body).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        fails(&r, 403);
    }
    // Every target row `call` created is still there, untouched.
    let users = snapshot(&w.gw, "/api/user?page_size=100", &w.root).await;
    for u in users["items"].as_array().unwrap() {
        assert_ne!(u["username"], "made_here");
        assert_eq!(u["status"], 1);
        if u["username"].as_str().unwrap().starts_with("target") {
            assert_eq!(u["quota"], 0, "{u}");
        }
    }
    assert_eq!(
        users["total"],
        4 + 3,
        "three user targets were created, none deleted"
    );
    let channels = snapshot(&w.gw, "/api/channel?page_size=100", &w.root).await;
    assert_eq!(
        channels["total"], 3,
        "three channel targets were created, none deleted or added"
    );
    for c in channels["items"].as_array().unwrap() {
        assert_eq!(c["priority"], 0);
    }
    let options = snapshot(&w.gw, "/api/option", &w.root).await;
    assert_ne!(options["system_name"], "Changed by caller");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_use_admin_endpoints_but_get_403_on_root_endpoints() {
    let w = World::new().await;
    for (method, path, body) in admin_endpoints() {
        let r = call(&w, Some(&w.admin), &method, path, &body).await;
        let expected = if method == Method::POST { 201 } else { 200 };
        ok(&r, expected);
    }
    for (method, path, body) in root_endpoints() {
        let r = call(&w, Some(&w.admin), &method, path, &body).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
        fails(&r, 403);
    }
    let options = snapshot(&w.gw, "/api/option", &w.root).await;
    assert_ne!(options["system_name"], "Changed by caller");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_uses_every_endpoint() {
    let w = World::new().await;
    for (method, path, body) in [admin_endpoints(), root_endpoints()].concat() {
        let r = call(&w, Some(&w.root), &method, path, &body).await;
        let expected = if method == Method::POST { 201 } else { 200 };
        ok(&r, expected);
    }
    let status = ok(&w.gw.get("/api/status", None).await, 200);
    assert_eq!(status["system_name"], "Changed by caller");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_root_grants_and_removes_the_admin_role() {
    let w = World::new().await;
    let gw = &w.gw;
    let user_path = format!("/api/user/{}", w.user_id);
    // An admin cannot make an admin, by update or by create.
    fails(
        &gw.put(&user_path, Some(&w.admin), json!({"role": 10}))
            .await,
        403,
    );
    let r = gw
        .post(
            "/api/user",
            Some(&w.admin),
            json!({"username": "wanna_admin", "password": "wanna-password", "role": 10}),
        )
        .await;
    fails(&r, 403);
    assert!(gw.try_login("wanna_admin", "wanna-password").await.status == 401);
    assert_eq!(snapshot(gw, &user_path, &w.root).await["role"], 1);

    // Root promotes; the promotion takes effect on the user's existing session.
    ok(
        &gw.put(&user_path, Some(&w.root), json!({"role": 10})).await,
        200,
    );
    ok(&gw.get("/api/user", Some(&w.user)).await, 200);
    // Another admin cannot demote the new admin; root can.
    fails(
        &gw.put(&user_path, Some(&w.admin), json!({"role": 1})).await,
        403,
    );
    assert_eq!(snapshot(gw, &user_path, &w.root).await["role"], 10);
    ok(
        &gw.put(&user_path, Some(&w.root), json!({"role": 1})).await,
        200,
    );
    fails(&gw.get("/api/user", Some(&w.user)).await, 403);
    // Root creates admins directly.
    let d = ok(
        &gw.post(
            "/api/user",
            Some(&w.root),
            json!({"username": "new_admin", "password": "new-admin-password", "role": 10}),
        )
        .await,
        201,
    );
    assert_eq!(d["role"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_creates_a_root() {
    let w = World::new().await;
    let gw = &w.gw;
    for jwt in [&w.root, &w.admin] {
        let r = gw
            .post(
                "/api/user",
                Some(jwt),
                json!({"username": "root2", "password": "root2-password", "role": 100}),
            )
            .await;
        fails(&r, 403);
        fails(
            &gw.put(
                &format!("/api/user/{}", w.user_id),
                Some(jwt),
                json!({"role": 100}),
            )
            .await,
            403,
        );
    }
    fails(
        &gw.put(
            &format!("/api/user/{}", w.admin_id),
            Some(&w.root),
            json!({"role": 100}),
        )
        .await,
        403,
    );
    let users = snapshot(gw, "/api/user", &w.root).await;
    let roots: Vec<&Value> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == 100)
        .collect();
    assert_eq!(roots.len(), 1, "{users}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_edit_or_delete_another_admin_or_root() {
    let w = World::new().await;
    let gw = &w.gw;
    let (second_id, second) = gw.create_user(&w.root, "dora_admin", 10, 0).await;
    let before = state_of(&w).await;
    for (jwt, target) in [
        (&w.admin, second_id),
        (&second, w.admin_id),
        (&w.admin, 1),
        (&second, 1),
    ] {
        let path = format!("/api/user/{target}");
        for body in [
            json!({"quota": 1}),
            json!({"status": 2}),
            json!({"password": "hijacked-password"}),
            json!({"display_name": "x"}),
        ] {
            fails(&gw.put(&path, Some(jwt), body).await, 403);
        }
        fails(&gw.delete(&path, Some(jwt)).await, 403);
        // Reading is allowed.
        ok(&gw.get(&path, Some(jwt)).await, 200);
    }
    assert_eq!(state_of(&w).await, before);
    gw.login("admin", integration_tests::gateway_support::ADMIN_PASSWORD)
        .await;
    gw.login("dora_admin", "dora_admin-password").await;
    // Admins do manage users.
    ok(
        &gw.put(
            &format!("/api/user/{}", w.user_id),
            Some(&second),
            json!({"quota": 1}),
        )
        .await,
        200,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_deletes_disables_or_demotes_themselves() {
    let w = World::new().await;
    let gw = &w.gw;
    for (jwt, id) in [(&w.root, 1), (&w.admin, w.admin_id)] {
        let path = format!("/api/user/{id}");
        fails(&gw.delete(&path, Some(jwt)).await, 403);
        fails(&gw.put(&path, Some(jwt), json!({"status": 2})).await, 403);
        fails(&gw.put(&path, Some(jwt), json!({"role": 1})).await, 403);
        // Their own password goes through PUT /api/user/self, which asks for the current one.
        fails(
            &gw.put(
                &path,
                Some(jwt),
                json!({"password": "changed-without-current"}),
            )
            .await,
            403,
        );
        ok(&gw.get("/api/user/self", Some(jwt)).await, 200);
    }
    gw.login("admin", integration_tests::gateway_support::ADMIN_PASSWORD)
        .await;
    gw.login("alice_admin", "alice_admin-password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_that_do_not_exist_or_do_not_parse_answer_404() {
    let w = World::new().await;
    let gw = &w.gw;
    let before = state_of(&w).await;
    for (resource, body) in [
        ("user", json!({"quota": 1})),
        ("channel", json!({"name": "x"})),
        ("token", json!({"name": "x"})),
    ] {
        for id in [
            "999999",
            "0",
            "-1",
            "abc",
            "99999999999999999999999",
            "1.5",
            "%FF",
        ] {
            let path = format!("/api/{resource}/{id}");
            fails(&gw.get(&path, Some(&w.root)).await, 404);
            fails(&gw.put(&path, Some(&w.root), body.clone()).await, 404);
            fails(&gw.delete(&path, Some(&w.root)).await, 404);
        }
    }
    assert_eq!(state_of(&w).await, before);
}
