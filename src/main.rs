// A general-purpose allocator built for many small short-lived allocations: object JSON is
// exactly that, and glibc's malloc spent a quarter of the benchmark's time in bookkeeping.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // The per-pod shim is this binary too; it is dispatched before anything else so that no
    // CLI parsing, async runtime or logging ever runs (or allocates) in it.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == "shim") {
        let code = match (args.next(), args.next()) {
            (Some(dir), None) => peapod::runtime::shim::run(std::path::Path::new(&dir)),
            _ => {
                eprintln!("usage: peapod shim <pod-dir> (started by the node agent)");
                2
            }
        };
        std::process::exit(code);
    }
    std::process::exit(peapod::cli::main());
}
