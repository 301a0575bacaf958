//! Controller runtime and controllers. STUB.
