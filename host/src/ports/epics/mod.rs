//! The `epics` port: devices reached over EPICS Channel Access (libca through the `epics-ca`
//! crate). The settings ([`EpicsConfig`], the catalog's `[epics]` table) are always compiled, so
//! a catalog parses the same with or without the `epics` cargo feature; the port itself
//! ([`EpicsPort`]) needs the feature and Debian's `libca-dev`/`libcom-dev` (see
//! `scripts/setup-epics.sh`). Routes on this port are `Physical`.

pub mod config;

#[cfg(feature = "epics")]
mod client;
#[cfg(feature = "epics")]
pub mod dbr;
#[cfg(feature = "epics")]
pub mod errors;
#[cfg(feature = "epics")]
mod port;

pub use config::{EpicsAction, EpicsConfig, EpicsConfigError, Scalar};
#[cfg(feature = "epics")]
pub use port::{EpicsPort, EpicsPortError};
