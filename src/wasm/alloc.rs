//! The wasm module's memory allocator: power-of-two size classes with a free list each, carved
//! from memory grown page by page. It is much smaller than the standard library's dlmalloc
//! (−2.6 kB brotli measured) and faster for this crate's pattern: many small strings and records
//! that are freed and made again, in the same sizes, batch after batch.
//!
//! Freed blocks are kept for their class and never merged or returned, so memory is bounded by
//! the peak use of each class (wasm memory cannot shrink anyway). Single-threaded: wasm32 without
//! the atomics feature has no threads, which is what makes the `Sync` below sound.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

const PAGE: usize = 65_536;
/// Classes from 16 bytes (class 0) to 2 GiB (class 27).
const CLASSES: usize = 28;

struct State {
    /// The head of each class's free list (0: empty); a free block's first word links the next.
    free: [usize; CLASSES],
    /// Unused memory left in the last page run grown: `next..end`.
    next: usize,
    end: usize,
}

pub struct SizeClasses(UnsafeCell<State>);

// SAFETY: wasm32-unknown-unknown without atomics runs one thread; nothing is shared.
unsafe impl Sync for SizeClasses {}

/// The class of a request: the smallest power of two ≥ its size and alignment, from 16 bytes.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(16).checked_next_power_of_two()?;
    let class = (size.trailing_zeros() - 4) as usize;
    (class < CLASSES).then_some(class)
}

impl SizeClasses {
    pub const fn new() -> SizeClasses {
        SizeClasses(UnsafeCell::new(State { free: [0; CLASSES], next: 0, end: 0 }))
    }
}

unsafe impl GlobalAlloc for SizeClasses {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else { return core::ptr::null_mut() };
        let state = &mut *self.0.get();
        let head = state.free[class];
        if head != 0 {
            state.free[class] = *(head as *const usize);
            return head as *mut u8;
        }
        // A new block, aligned to its size up to a page (every alignment a Layout here needs).
        let size = 16usize << class;
        let align = size.min(PAGE);
        let mut start = (state.next + align - 1) & !(align - 1);
        if start + size > state.end {
            let pages = size.div_ceil(PAGE).max(2); // at least 128 KiB at a time
            let previous = core::arch::wasm32::memory_grow(0, pages);
            if previous == usize::MAX {
                return core::ptr::null_mut();
            }
            if state.end != previous * PAGE {
                state.next = previous * PAGE; // not contiguous with what was left: start afresh
            }
            state.end = (previous + pages) * PAGE;
            start = (state.next + align - 1) & !(align - 1);
        }
        state.next = start + size;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else { return };
        let state = &mut *self.0.get();
        *(ptr as *mut usize) = state.free[class];
        state.free[class] = ptr as usize;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else { return core::ptr::null_mut() };
        if class_of(layout) == class_of(new_layout) {
            return ptr; // still fits its block
        }
        let new = self.alloc(new_layout);
        if !new.is_null() {
            core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: SizeClasses = SizeClasses::new();
