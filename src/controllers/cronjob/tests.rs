//! CronJob controller tests.
use super::*;
