//! The object store on redb. STUB.
