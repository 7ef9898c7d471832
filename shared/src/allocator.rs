//! The process allocator of both binaries: mimalloc, entered through its plain `mi_malloc`
//! whenever the alignment asked for is one every mimalloc block already has.
//!
//! A request allocates a few hundred small blocks (headers, JSON fields, log rows). The
//! `mimalloc` crate's allocator sends every one of them through `mi_malloc_aligned`,
//! whose alignment checks cost about as much again as the allocation itself (~3k
//! instructions a request, measured with callgrind). Rust asks for alignments of 1 to 8
//! for nearly all of them, and mimalloc's blocks are whole words in word-aligned pages,
//! so those need no check; larger alignments still take the aligned path.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use libmimalloc_sys as mi;

/// Every block mimalloc hands out is aligned to at least this (its size classes are
/// whole machine words).
const WORD: usize = core::mem::size_of::<usize>();

/// mimalloc as the global allocator: `#[global_allocator] static A: Allocator = Allocator;`
pub struct Allocator;

// SAFETY: each method hands mimalloc's own result back unchanged. `mi_malloc`, `mi_zalloc`
// and `mi_realloc` return word-aligned blocks, so they serve only layouts whose alignment
// is at most a word; any other layout goes through the `_aligned` entry points with its
// alignment. `mi_free` releases blocks from either kind.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            unsafe { mi::mi_malloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            unsafe { mi::mi_zalloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            unsafe { mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8 }
        } else {
            unsafe {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of every small size and alignment come back aligned, keep their contents
    /// through growth and shrinking, and are zeroed when asked.
    #[test]
    #[allow(unsafe_code)]
    fn blocks_are_aligned_and_keep_their_contents() {
        let a = Allocator;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1usize, 3, 8, 13, 24, 100, 1000, 70_000] {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: non-zero sizes; every block is freed with its own layout.
                unsafe {
                    let p = a.alloc_zeroed(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    assert!((0..size).all(|i| *p.add(i) == 0));
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let q = a.realloc(p, layout, size * 3);
                    assert_eq!(q as usize % align, 0);
                    assert!((0..size).all(|i| *q.add(i) == i as u8));
                    let grown = Layout::from_size_align(size * 3, align).unwrap_or(layout);
                    let r = a.realloc(q, grown, size / 2 + 1);
                    assert_eq!(r as usize % align, 0);
                    assert!((0..size / 2 + 1).all(|i| *r.add(i) == i as u8));
                    a.dealloc(
                        r,
                        Layout::from_size_align(size / 2 + 1, align).unwrap_or(layout),
                    );
                }
            }
        }
    }
}
