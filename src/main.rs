// A general-purpose allocator built for many small short-lived allocations: object JSON is
// exactly that, and glibc's malloc spent a quarter of the benchmark's time in bookkeeping.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(peapod::cli::main());
}
