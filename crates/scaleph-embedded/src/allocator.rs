//! The process allocator for binaries that run the engine: mimalloc for small allocations,
//! the C library's `malloc` for large ones.
//!
//! Rows, hash entries and small vectors churn through mimalloc, which is fast at that (glibc
//! malloc was ~35 % of a join-heavy Nexmark query's profile). Large buffers — Arrow columns
//! held as operator state, hash tables — live long, and their sizes vary: mimalloc kept the
//! memory they freed resident without reusing it (Nexmark q9 at 5 M events: peak RSS 1.24 GB
//! with mimalloc alone, 0.92 GB with glibc alone), while glibc reuses it or gives it back.
//!
//! glibc's own defaults map blocks from 128 KiB and trim its heap from 128 KiB free, then
//! raise both as blocks are freed; per-batch buffers then went back and forth to the kernel
//! (q2: 2.9 s instead of 2.0 s, 400 k page faults). On the first large allocation they are
//! fixed at [`MMAP_THRESHOLD`] and [`TRIM_THRESHOLD`] (`mallopt`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// Allocations of at least this many bytes go to the C library's `malloc`.
pub const LARGE_ALLOCATION: usize = 64 << 10;

/// A [`GlobalAlloc`] choosing the allocator by size: below [`LARGE_ALLOCATION`] bytes
/// mimalloc, from it [`System`]. Sound because Rust frees and reallocates a block with the
/// layout (hence the size) it was allocated with; a reallocation across the threshold moves
/// the block to the other allocator.
pub struct EngineAllocator;

/// Blocks from this size get their own mapping from glibc (`M_MMAP_THRESHOLD`).
pub const MMAP_THRESHOLD: usize = 4 << 20;
/// Free bytes at the top of a glibc heap kept before it is trimmed (`M_TRIM_THRESHOLD`).
pub const TRIM_THRESHOLD: usize = 32 << 20;

static TUNED: AtomicBool = AtomicBool::new(false);

/// Whether `size` bytes go to the C library; sets its thresholds on the first such size.
fn large(size: usize) -> bool {
    if size < LARGE_ALLOCATION {
        return false;
    }
    if !TUNED.load(Ordering::Relaxed) && !TUNED.swap(true, Ordering::Relaxed) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `mallopt` takes plain integers and allocates nothing; a value glibc rejects
        // leaves its default.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int);
        }
    }
    true
}

// SAFETY: every block is freed or resized by the allocator that made it, chosen by the
// size in its layout, which the caller passes unchanged (the `GlobalAlloc` contract).
unsafe impl GlobalAlloc for EngineAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if large(layout.size()) {
            System.alloc(layout)
        } else {
            mimalloc::MiMalloc.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if large(layout.size()) {
            System.alloc_zeroed(layout)
        } else {
            mimalloc::MiMalloc.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if large(layout.size()) {
            System.dealloc(ptr, layout)
        } else {
            mimalloc::MiMalloc.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match (large(layout.size()), large(new_size)) {
            (true, true) => System.realloc(ptr, layout, new_size),
            (false, false) => mimalloc::MiMalloc.realloc(ptr, layout, new_size),
            _ => {
                // SAFETY: the caller guarantees `new_size`, rounded up to `layout.align()`,
                // does not overflow `isize`.
                let new = Layout::from_size_align_unchecked(new_size, layout.align());
                let moved = self.alloc(new);
                if !moved.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_move_between_allocators_intact() {
        let a = EngineAllocator;
        for (from, to) in [(100, 200_000), (200_000, 100), (70_000, 300_000), (10, 20)] {
            let layout = Layout::from_size_align(from, 64).unwrap();
            // SAFETY: non-zero sizes; each block is freed with its current layout.
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                for i in 0..from {
                    *p.add(i) = (i % 251) as u8;
                }
                let q = a.realloc(p, layout, to);
                assert!(!q.is_null());
                assert_eq!(q as usize % 64, 0, "alignment kept");
                for i in 0..from.min(to) {
                    assert_eq!(*q.add(i), (i % 251) as u8);
                }
                a.dealloc(q, Layout::from_size_align(to, 64).unwrap());
            }
        }
    }
}
