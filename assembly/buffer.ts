// Buffer heads (fs/buffer.c) of the page-cache pages of regular files, as a block filesystem
// such as ext4 keeps them: one buffer_head per block, chained at folio->private. A page with
// buffers has PG_private and the reference folio_attach_private took; the simulator keeps no
// buffer_head itself, since with one block per page every buffer's state is the page's: its
// buffers are dirty while the page is (block_dirty_folio marks every buffer of a page dirtied
// through its mapping, write-out cleans them) and locked while its IO is in flight. The page's
// private word is the time it became dirty (writeback.ts), not a pointer.
//
// Buffers are attached where ext4 attaches them — when a page is read (block_read_full_folio)
// and when it is written (write_begin of write(2), page_mkwrite of a write fault on a shared
// mapping: __block_write_begin) — and released by reclaim (filemap_release_folio) or truncation
// (block_invalidate_folio) only. Writeback requires them: ext4_writepages maps a page's blocks
// through its buffers (flusher.ts). Dirtying attaches none (block_dirty_folio): a page dirtied
// behind the filesystem's back after reclaim dropped its buffers — a device's DMA into a page
// get_user_pages holds, then set_page_dirty_lock — is the 2018 bug (kernel-reference.md §8.1).
import { testFlag, setFlag, clearFlag, refcount, setRefcount, PG_private, PG_dirty, PG_writeback, PG_readio } from './page';
import { countAdd } from './vmstat';
import { C_MMSIM_NR_BUFFER_PAGES } from './generated/abi';
import { folioCancelDirty } from './writeback';

/**
 * create_empty_buffers → folio_attach_private for page-cache page `p` (locked by the caller:
 * the read being set up, write_begin, page_mkwrite), unless it has buffers already
 * (folio_create_buffers): PG_private, and a reference the buffers hold until they are dropped.
 */
export function folioCreateBuffers(p: u32): void {
  if (testFlag(p, PG_private)) return;
  setFlag(p, PG_private);
  setRefcount(p, refcount(p) + 1);
  countAdd(C_MMSIM_NR_BUFFER_PAGES, 1);
}

/** folio_detach_private: PG_private goes and the buffers' reference is put (never the last: the caller holds one). */
function folioDetachPrivate(p: u32): void {
  clearFlag(p, PG_private);
  setRefcount(p, refcount(p) - 1);
  countAdd(C_MMSIM_NR_BUFFER_PAGES, -1);
}

/**
 * try_to_free_buffers for locked page `p`: drop_buffers frees them unless the page is under
 * writeback or one of them is busy (buffer_busy: dirty, or locked for IO — here the page
 * dirty, or its read in flight). It does not look at the page's refcount: a page someone else
 * holds a reference to (a get_user_pages reference, say) loses its buffers all the same, and
 * is then kept by __remove_mapping's failed refcount freeze — cached, clean, with no buffers.
 * (On success the kernel also cancels the page's dirty state, for filesystems that write their
 * buffers by hand; here a page with clean buffers is a clean page.)
 */
export function tryToFreeBuffers(p: u32): bool {
  if (testFlag(p, PG_writeback)) return false;
  if (testFlag(p, PG_dirty) || testFlag(p, PG_readio)) return false;    // buffer_busy
  folioDetachPrivate(p);
  return true;
}

/**
 * block_invalidate_folio over the whole of locked page `p`, for truncation (truncate_cleanup_folio,
 * after the writeback it waited for): discard_buffer cleans every buffer, then
 * filemap_release_folio drops them and try_to_free_buffers, finding them clean, cancels the
 * page's dirty state (folio_cancel_dirty) — its data is not written. False, buffers kept, if
 * the page is still under writeback. Truncation calls it before __filemap_remove_folio, so
 * that no page leaves the page cache with its buffers.
 */
export function blockInvalidateFolio(p: u32): bool {
  if (!testFlag(p, PG_private)) return true;
  if (testFlag(p, PG_writeback)) return false;
  folioDetachPrivate(p);
  folioCancelDirty(p);
  return true;
}
