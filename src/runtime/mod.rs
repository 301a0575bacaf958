pub mod container;
pub mod sandbox;
