//! Pure Job logic tests.
use super::*;
