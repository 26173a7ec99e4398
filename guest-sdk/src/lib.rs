//! Write baton procedures in Rust.
//!
//! A procedure answers one question: "given these parameters (and these readbacks), which
//! steps?". The host calls it once per conduct, pins the answer, and never calls it again for
//! that conduct; nothing a procedure does has effects.
//!
//! ```
//! use baton_guest::prelude::*;
//!
//! pub struct Hello;
//!
//! impl Procedure for Hello {
//!     fn describe() -> Info {
//!         Info::new("hello", "0.1.0", "Moves one motor and takes one exposure.")
//!             .param(ParamSpec::float("position", "target of sim:mx (mm)").default(1.0))
//!     }
//!
//!     fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
//!         let position = params.float_in("position", -50.0..=50.0)?;
//!         host.log(&format!("moving sim:mx to {position} mm"));
//!         let mut plan = Plan::new();
//!         plan.push(Setpoint::new("sim:mx", position).readback("sim:mx.rbv").tolerance(0.01));
//!         plan.push(Action::new("sim:det", "acquire").arg("exposure_s", 0.1));
//!         Ok(plan)
//!     }
//! }
//!
//! baton_guest::export_procedure!(Hello);
//!
//! // The same logic, tested natively with `cargo test`: no wasm involved.
//! let harness = baton_guest::testing::Harness::<Hello>::new().param("position", 2.5);
//! let resolved = harness.resolve().unwrap();
//! assert_eq!(resolved.steps.len(), 2);
//! assert_eq!(harness.log(), ["moving sim:mx to 2.5 mm"]);
//! ```
//!
//! What lives where:
//! - [`Procedure`] is the trait a procedure implements, [`export_procedure!`] turns it into a
//!   component when the crate is built for `wasm32-wasip2`;
//! - [`Plan`] collects steps built with [`Setpoint`], [`Check`] and [`Action`], naming each
//!   channel once;
//! - [`Params`] gives typed access to the parameters declared in [`Info`] with [`ParamSpec`];
//! - [`Host`] is the read-only view of the beamline (`read`, `log`);
//! - [`linspace`] spaces scan points with exact endpoints;
//! - [`testing`] runs a procedure natively against a [`testing::TestHost`] answered from a map.

mod error;
mod export;
mod host;
mod info;
mod params;
mod plan;
mod scan;
mod step;
mod value;
mod view;

pub mod testing;

/// The bindings generated from `wit/procedure.wit`. Not part of the API: they are public only
/// because [`export_procedure!`] expands to code in the procedure's crate that refers to them.
#[doc(hidden)]
#[allow(unsafe_code, missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "procedure",
        pub_export_macro: true,
        default_bindings_module: "baton_guest::bindings",
        additional_derives: [PartialEq],
    });
}

pub use error::ResolveError;
pub use host::Host;
pub use info::{Info, Kind, ParamSpec};
pub use params::{ParamError, Params};
pub use plan::{Name, NameArg, Plan};
pub use scan::{Linspace, linspace};
pub use step::{Action, Check, IntoStep, Setpoint, Step};
pub use value::Value;
pub use view::{Criterion, ResolvedStep};

/// A procedure: declares its parameters and resolves them into a [`Plan`].
///
/// Both functions must be deterministic: same parameters and same readbacks, same plan. The
/// host may call `describe` at any time and calls `resolve` once per conduct.
pub trait Procedure {
    /// Name, version, documentation and the declared parameters (with their defaults).
    fn describe() -> Info;

    /// Turns the parameters (and whatever `host.read` answers) into the steps to conduct.
    ///
    /// Every parameter the caller passed has already been checked against the declaration:
    /// it is declared, given once, and of the declared kind.
    fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError>;
}

/// Everything a procedure usually needs, in one `use`.
pub mod prelude {
    pub use crate::{
        Action, Check, Host, Info, Kind, Name, ParamError, ParamSpec, Params, Plan, Procedure,
        ResolveError, Setpoint, Value, linspace,
    };
}

/// Exports a [`Procedure`] as the component's `describe` and `resolve`.
///
/// ```
/// # use baton_guest::prelude::*;
/// pub struct Nothing;
///
/// impl Procedure for Nothing {
///     fn describe() -> Info {
///         Info::new("nothing", env!("CARGO_PKG_VERSION"), "Resolves to no steps.")
///     }
///
///     fn resolve(_: &Params, _: &dyn Host) -> Result<Plan, ResolveError> {
///         Ok(Plan::new())
///     }
/// }
///
/// baton_guest::export_procedure!(Nothing);
/// ```
///
/// The export exists only when building for `wasm32` (`cargo build --target wasm32-wasip2`);
/// on the host the macro expands to nothing, so `cargo test` of the same crate exercises the
/// logic through [`testing`] without any wasm stub in the way.
#[macro_export]
macro_rules! export_procedure {
    ($procedure:ident) => {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
    $crate::bindings::export!($procedure with_types_in $crate::bindings);
        };
    };
}
