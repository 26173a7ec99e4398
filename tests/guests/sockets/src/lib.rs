//! A procedure that tries to open a TCP connection. Built for `wasm32-wasip2`, std's
//! `TcpStream` makes the component import `wasi:sockets/*`, which the host must refuse at load
//! time, naming the import, before any of this code could run.

use baton_guest::prelude::*;

pub struct Sockets;

/// Where `resolve` tries to connect (the discard port).
pub const ADDRESS: &str = "127.0.0.1:9";

impl Procedure for Sockets {
    fn describe() -> Info {
        Info::new(
            "guest-sockets",
            env!("CARGO_PKG_VERSION"),
            "Tries to connect to 127.0.0.1:9; exists to be refused for importing wasi:sockets.",
        )
    }

    fn resolve(_params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
        // The component must contain the attempt (that is what makes it import wasi:sockets);
        // a native `cargo test` has no business opening connections.
        let outcome = if cfg!(target_arch = "wasm32") {
            match std::net::TcpStream::connect(ADDRESS) {
                Ok(_) => "connected".to_owned(),
                Err(e) => format!("error: {e}"),
            }
        } else {
            "not attempted outside wasm".to_owned()
        };
        host.log(&format!("connect {ADDRESS}: {outcome}"));
        let mut plan = Plan::new();
        plan.push(Setpoint::new("sockets:outcome", outcome));
        Ok(plan)
    }
}

baton_guest::export_procedure!(Sockets);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use baton_guest::testing::Harness;

    #[test]
    fn resolves_to_one_step_recording_the_attempt() {
        let h = Harness::<Sockets>::new();
        let r = h.resolve().unwrap();
        assert_eq!(r.steps.len(), 1);
        assert_eq!(r.steps[0].target(), "sockets:outcome");
        assert_eq!(h.log(), ["connect 127.0.0.1:9: not attempted outside wasm"]);
    }
}
