//! Login throttling and the cost of logins for unknown users.

use crate::helpers::{fails, median};
use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_throttled_after_ten_failures_per_username_and_ip() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    gw.create_user(&root, "gina", 1, 0).await;
    for i in 0..10 {
        let r = gw.try_login("gina", "wrong-password").await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text);
        fails(&r, 401);
    }
    // The 11th attempt is refused even with the right password.
    fails(&gw.try_login("gina", "gina-password").await, 429);
    fails(&gw.try_login("GINA", "gina-password").await, 429);
    // Another username from the same address is not affected.
    gw.login("admin", ADMIN_PASSWORD).await;
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
        rejected + succeeded <= 10,
        "only 10 guesses may be checked: {rejected} rejected, {succeeded} succeeded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_costs_about_as_much_time_as_a_wrong_password() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    gw.create_user(&root, "ivan", 1, 0).await;
    // Warm up both paths (the dummy hash is made on first use).
    gw.try_login("ivan", "wrong-password").await;
    gw.try_login("nobody-warmup", "wrong-password").await;
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved so load from other tests hits both sides alike; stays under the
    // throttle (10 per username, 50 per address).
    for i in 0..7 {
        let t = Instant::now();
        let r = gw.try_login("ivan", "wrong-password").await;
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
