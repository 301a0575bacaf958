use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// peapod's allocator: mimalloc, built for many small short-lived allocations (object JSON
/// is exactly that; glibc's malloc spent a quarter of the store benchmark in bookkeeping).
/// The per-pod shim, which is this binary too, uses the system allocator instead: it
/// allocates a few KiB and lives for days, and mimalloc's arenas would be most of its
/// memory. The choice is made once, before the first allocation (see `choose_allocator`),
/// so no block is ever freed by the other allocator.
struct PeapodAlloc;

static SYSTEM_ALLOC: AtomicBool = AtomicBool::new(false);

// SAFETY: both allocators are sound GlobalAllocs and every block is returned to the one that
// made it, because the choice never changes after the first allocation.
unsafe impl GlobalAlloc for PeapodAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        unsafe {
            if SYSTEM_ALLOC.load(Ordering::Relaxed) {
                System.alloc(layout)
            } else {
                mimalloc::MiMalloc.alloc(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded to the allocator that made the block.
        unsafe {
            if SYSTEM_ALLOC.load(Ordering::Relaxed) {
                System.dealloc(ptr, layout)
            } else {
                mimalloc::MiMalloc.dealloc(ptr, layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        unsafe {
            if SYSTEM_ALLOC.load(Ordering::Relaxed) {
                System.alloc_zeroed(layout)
            } else {
                mimalloc::MiMalloc.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded to the allocator that made the block.
        unsafe {
            if SYSTEM_ALLOC.load(Ordering::Relaxed) {
                System.realloc(ptr, layout, new_size)
            } else {
                mimalloc::MiMalloc.realloc(ptr, layout, new_size)
            }
        }
    }
}

#[global_allocator]
static GLOBAL: PeapodAlloc = PeapodAlloc;

/// Runs from the ELF init array, before Rust's runtime starts and so before any allocation:
/// glibc passes it argc and argv. `peapod shim …` selects the system allocator.
extern "C" fn choose_allocator(argc: i32, argv: *const *const u8, _env: *const *const u8) {
    if argc < 2 || argv.is_null() {
        return;
    }
    // SAFETY: glibc passes the process's argv: argc valid NUL-terminated strings.
    let first = unsafe { std::ffi::CStr::from_ptr((*argv.add(1)).cast()) };
    if first.to_bytes() == b"shim" {
        SYSTEM_ALLOC.store(true, Ordering::Relaxed);
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static CHOOSE_ALLOCATOR: extern "C" fn(i32, *const *const u8, *const *const u8) = choose_allocator;

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
