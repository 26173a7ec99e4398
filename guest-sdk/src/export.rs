//! The one path from the WIT exports to a [`Procedure`]: check the declaration, check the
//! parameters, resolve. The native [`crate::testing`] harness runs the same [`run`], so a unit
//! test sees exactly what the component would do.

use crate::params::ParamError;
use crate::{Host, Params, Plan, Procedure, ResolveError, Value};

/// Checks `P`'s declaration and the given parameters, then resolves.
pub(crate) fn run<P: Procedure>(
    given: Vec<(String, Value)>,
    host: &dyn Host,
) -> Result<Plan, ResolveError> {
    let info = P::describe();
    info.check().map_err(ParamError::BadDeclaration)?;
    let params = Params::new(given, info.into_params())?;
    P::resolve(&params, host)
}

/// Every [`Procedure`] is a WIT guest; `export_procedure!` picks which one the component
/// exports. Only compiled for wasm, where the host import is real.
#[cfg(target_arch = "wasm32")]
impl<P: Procedure> crate::bindings::Guest for P {
    fn describe() -> crate::bindings::Info {
        <P as Procedure>::describe().into()
    }

    fn resolve(
        params: Vec<(String, Value)>,
    ) -> Result<crate::bindings::Plan, crate::bindings::ResolveError> {
        run::<P>(params, &crate::host::WasmHost)
            .map(Plan::into_wit)
            .map_err(Into::into)
    }
}
