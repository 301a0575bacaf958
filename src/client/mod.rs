//! What kubectl does on the client side, shared by the CLI and the console: describe
//! texts, manifest validation and text layouts. Knows `api` and `cluster`; the CLI and the
//! console build on it.

pub mod describe;
pub mod edit;
pub mod pod_choice;
pub mod portforward;
pub mod text;
pub mod validate;
