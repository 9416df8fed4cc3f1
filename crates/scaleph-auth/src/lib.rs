//! Identity and access for scaleph, free of HTTP and storage:
//!
//! - [`roles`]: platform roles (`admin`, `user`), project roles (`owner`, `developer`,
//!   `viewer`) and token scopes (`read`, `write`, `operate`, `admin`);
//! - [`matrix`]: the permission matrix as data — which role and scope each (resource, action)
//!   needs — and the table mapping every API route to its (resource, action). The server
//!   enforces it in one middleware; `docs/permissions.md` is generated from it;
//! - [`secret`]: argon2id password hashes, random API tokens and session ids stored as SHA-256
//!   digests, constant-time comparison;
//! - [`throttle`]: failed-login throttling per user and per source address.
#![warn(missing_docs)]

pub mod matrix;
pub mod roles;
pub mod secret;
pub mod throttle;

pub use matrix::{Action, Need, Permission, Resource, RouteRule, MATRIX, PUBLIC_ROUTES, ROUTES};
pub use roles::{PlatformRole, ProjectRole, Scope, ScopeSet};
