//! Each limit on its own, with a sandbox configured to make it the one that bites: the fuel
//! budget, the wall-clock deadline (in wasm and blocked in a host call), the memory cap, and the
//! pool semaphore that makes callers wait instead of failing.

use std::time::Duration;

use baton_host::domain::Value;
use baton_host::sandbox::{
    ChannelReader, Limits, LoadedComponent, NoReads, ResolveError, Sandbox, SandboxConfig,
};

fn sandbox(limits: Limits) -> Sandbox {
    Sandbox::new(SandboxConfig {
        cache_dir: None,
        limits: Limits {
            max_instances: 4,
            ..limits
        },
    })
    .unwrap()
}

async fn hostile(s: &Sandbox) -> LoadedComponent {
    s.load(baton_artifacts::guest_hostile_bytes())
        .await
        .unwrap()
}

fn mode(m: &str) -> Vec<(String, Value)> {
    vec![("mode".into(), Value::Text(m.into()))]
}

#[tokio::test]
async fn a_small_fuel_budget_stops_a_loop_deterministically() {
    let s = sandbox(Limits {
        fuel: 50_000_000,
        deadline: Duration::from_secs(60),
        ..Limits::default()
    });
    let c = hostile(&s).await;
    for _ in 0..2 {
        let f = s.resolve(&c, &mode("loop"), &NoReads).await.unwrap_err();
        assert_eq!(f.error, ResolveError::OutOfFuel { budget: 50_000_000 });
        assert_eq!(f.fuel_used, Some(50_000_000));
    }
    // A good call fits the same budget and reports what it used.
    let ok = s.resolve(&c, &mode("ok"), &NoReads).await.unwrap();
    assert!(
        ok.fuel_used > 0 && ok.fuel_used < 50_000_000,
        "{}",
        ok.fuel_used
    );
}

#[tokio::test]
async fn the_deadline_stops_a_loop_that_has_fuel_to_spare() {
    let s = sandbox(Limits {
        fuel: 1_000_000_000_000_000,
        deadline: Duration::from_millis(300),
        ..Limits::default()
    });
    let c = hostile(&s).await;
    let f = s.resolve(&c, &mode("loop"), &NoReads).await.unwrap_err();
    assert_eq!(f.error, ResolveError::Deadline { limit_ms: 300 });
    // After an interrupt the fuel of the interrupted frame is unknown: not reported.
    assert_eq!(f.fuel_used, None);
    assert!(s.resolve(&c, &mode("ok"), &NoReads).await.is_ok());
}

/// A reader that never answers, like a device that hangs.
struct Hangs;

#[async_trait::async_trait]
impl ChannelReader for Hangs {
    async fn read(&self, _channel: &str) -> Result<Value, String> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn the_deadline_also_covers_a_guest_blocked_in_a_host_call() {
    let s = sandbox(Limits {
        deadline: Duration::from_millis(300),
        ..Limits::default()
    });
    let c = hostile(&s).await;
    let f = s.resolve(&c, &mode("read"), &Hangs).await.unwrap_err();
    assert_eq!(f.error, ResolveError::Deadline { limit_ms: 300 });
    assert!(s.resolve(&c, &mode("ok"), &NoReads).await.is_ok());
}

#[tokio::test]
async fn the_memory_cap_is_configurable_and_peak_memory_is_reported() {
    let cap = 32 << 20;
    let s = sandbox(Limits {
        memory_bytes: cap,
        ..Limits::default()
    });
    let c = hostile(&s).await;
    let f = s.resolve(&c, &mode("bomb"), &NoReads).await.unwrap_err();
    let ResolveError::MemoryLimit { requested, limit } = f.error else {
        panic!("{:?}", f.error);
    };
    assert_eq!(limit, cap);
    assert!(requested > cap);
    let ok = s.resolve(&c, &mode("ok"), &NoReads).await.unwrap();
    assert!(ok.peak_memory_bytes > 0 && ok.peak_memory_bytes <= cap as u64);
}

#[tokio::test]
async fn callers_beyond_the_pool_wait_for_a_slot_instead_of_failing() {
    let s = Sandbox::new(SandboxConfig {
        cache_dir: None,
        limits: Limits {
            max_instances: 2,
            ..Limits::default()
        },
    })
    .unwrap();
    let c = s.load(baton_artifacts::hello_bytes()).await.unwrap();
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let (s, c) = (s.clone(), c.clone());
            tokio::spawn(async move { s.resolve(&c, &[], &NoReads).await })
        })
        .collect();
    for call in calls {
        let r = call.await.unwrap().unwrap();
        assert!(!r.steps.is_empty());
    }
}

#[tokio::test]
async fn a_guest_may_read_only_so_often() {
    struct Counts;
    #[async_trait::async_trait]
    impl ChannelReader for Counts {
        async fn read(&self, _channel: &str) -> Result<Value, String> {
            Ok(Value::Float(1.0))
        }
    }
    let s = sandbox(Limits {
        max_reads: 0,
        ..Limits::default()
    });
    let c = hostile(&s).await;
    let f = s.resolve(&c, &mode("read"), &Counts).await.unwrap_err();
    assert_eq!(f.kind(), "failed");
    assert!(f.to_string().contains("read limit"), "{f}");
    assert!(f.reads.is_empty());
}
