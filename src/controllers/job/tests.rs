//! Job controller tests.
use super::*;
