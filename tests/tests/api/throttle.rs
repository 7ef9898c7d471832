//! Password-guess throttling (a backoff per account across addresses and per address,
//! on logins and on `current_password` checks) and the cost of logins for unknown users.

use crate::helpers::{fails, median, ok};
use integration_tests::gateway_support::{Resp, TestGateway, ADMIN_PASSWORD};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// Failures an account may collect before each attempt must wait (`auth::throttle`).
const ACCOUNT_FREE: usize = 5;
/// The same for one address.
const ADDRESS_FREE: usize = 30;

/// The announced wait of a 429, in seconds.
fn retry_after(r: &Resp) -> u64 {
    fails(r, 429);
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", r.headers))
}

/// A login sent from another loopback address (all of 127.0.0.0/8 reaches the gateway).
async fn login_from(gw: &TestGateway, last_octet: u8, username: &str, password: &str) -> Resp {
    let client = reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)))
        .build()
        .expect("client");
    let req = client
        .post(format!("{}/api/user/login", gw.url))
        .json(&json!({"username": username, "password": password}));
    gw.send(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_few_failures_each_attempt_waits_and_then_the_right_password_works() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    gw.create_user(&root, "gina", 1, 0).await;
    for i in 0..ACCOUNT_FREE {
        let r = gw.try_login("gina", "wrong-password").await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text);
        fails(&r, 401);
    }
    // The next attempt must wait, even with the right password, whatever the case.
    let wait = retry_after(&gw.try_login("GINA", "gina-password").await);
    assert!((1..=2).contains(&wait), "first wait {wait}");
    // Another account from the same address is not affected.
    gw.login("admin", ADMIN_PASSWORD).await;
    // A backoff, not a lockout: after the wait the right password works.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    gw.login("gina", "gina-password").await;
    // ... and the account's failures are forgotten.
    for _ in 0..ACCOUNT_FREE {
        fails(&gw.try_login("gina", "wrong-password").await, 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_doubles_with_each_further_failure() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    gw.create_user(&root, "hugo", 1, 0).await;
    for _ in 0..ACCOUNT_FREE {
        fails(&gw.try_login("hugo", "wrong-password").await, 401);
    }
    let first = retry_after(&gw.try_login("hugo", "wrong-password").await);
    tokio::time::sleep(Duration::from_millis(first * 1000 + 50)).await;
    fails(&gw.try_login("hugo", "wrong-password").await, 401);
    let second = retry_after(&gw.try_login("hugo", "hugo-password").await);
    assert!(
        second >= 2 && second > first.saturating_sub(1),
        "{first} then {second}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_many_addresses_count_against_the_account() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    gw.create_user(&root, "iris", 1, 0).await;
    gw.create_user(&root, "jack", 1, 0).await;
    for i in 0..ACCOUNT_FREE {
        let octet = 10 + u8::try_from(i).unwrap();
        fails(&login_from(&gw, octet, "iris", "wrong-password").await, 401);
    }
    // A fresh address gets no fresh guesses at the account ...
    retry_after(&login_from(&gw, 99, "iris", "iris-password").await);
    // ... while other accounts, from those same addresses, are unaffected.
    let r = login_from(&gw, 10, "jack", "jack-password").await;
    ok(&r, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_guessing_at_many_accounts_backs_off_and_recovers() {
    let gw = TestGateway::spawn().await;
    for i in 0..ADDRESS_FREE {
        let r = login_from(&gw, 7, &format!("nobody-{i}"), "wrong-password").await;
        fails(&r, 401);
    }
    // Even the right password of an untouched account waits, from that address only.
    let wait = retry_after(&login_from(&gw, 7, "admin", ADMIN_PASSWORD).await);
    ok(&login_from(&gw, 8, "admin", ADMIN_PASSWORD).await, 200);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    ok(&login_from(&gw, 7, "admin", ADMIN_PASSWORD).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_login_guesses_cannot_bypass_the_throttle() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    gw.create_user(&root, "hank", 1, 0).await;
    let guesses = (0..30).map(|i| {
        gw.try_login(
            "hank",
            if i == 29 {
                "hank-password"
            } else {
                "wrong-password"
            },
        )
    });
    let results = futures_util::future::join_all(guesses).await;
    let rejected = results.iter().filter(|r| r.status == 401).count();
    let throttled = results.iter().filter(|r| r.status == 429).count();
    let succeeded = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(rejected + throttled + succeeded, 30);
    assert!(
        rejected + succeeded <= ACCOUNT_FREE,
        "only {ACCOUNT_FREE} guesses may be checked: {rejected} rejected, {succeeded} succeeded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_password_checks_are_throttled_like_logins() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let (_, jwt) = gw.create_user(&root, "kate", 1, 0).await;
    let guess =
        |current: &str| json!({"password": "kate-new-password", "current_password": current});
    for _ in 0..ACCOUNT_FREE {
        let r = gw.put("/api/user/self", Some(&jwt), guess("not-it")).await;
        fails(&r, 400);
    }
    // A stolen session gets no more guesses than a stranger: the next check waits, and
    // the account's logins wait too.
    let r = gw
        .put("/api/user/self", Some(&jwt), guess("kate-password"))
        .await;
    let wait = retry_after(&r);
    retry_after(&gw.try_login("kate", "kate-password").await);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = gw
        .put("/api/user/self", Some(&jwt), guess("kate-password"))
        .await;
    ok(&r, 200);
    gw.login("kate", "kate-new-password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_costs_about_as_much_time_as_a_wrong_password() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    // One wrong guess per known account keeps every account under its backoff.
    let rounds = 7;
    for i in 0..=rounds {
        gw.create_user(&root, &format!("ivan{i}"), 1, 0).await;
    }
    // Warm up both paths (the dummy hash is made on first use).
    gw.try_login(&format!("ivan{rounds}"), "wrong-password")
        .await;
    gw.try_login("nobody-warmup", "wrong-password").await;
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved so load from other tests hits both sides alike; the address stays
    // under its own backoff (16 failures).
    for i in 0..rounds {
        let t = Instant::now();
        let r = gw.try_login(&format!("ivan{i}"), "wrong-password").await;
        wrong.push(t.elapsed().as_secs_f64());
        fails(&r, 401);
        let t = Instant::now();
        let r2 = gw.try_login(&format!("nobody-{i}"), "wrong-password").await;
        unknown.push(t.elapsed().as_secs_f64());
        fails(&r2, 401);
        assert_eq!(
            r.body["message"], r2.body["message"],
            "same answer for both"
        );
    }
    let (w, u) = (median(wrong), median(unknown));
    assert!(
        u >= 0.5 * w,
        "unknown user {u:.4}s vs wrong password {w:.4}s"
    );
}
