// What crosses a boundary of a live scrub and of the kernel's log, bounded whatever was found: a failing disk can
// give a scrub a million bad ranges and the kernel thousands of lines; an event or an answer carries the first
// DAMAGE_FIRST_RANGES ranges of each kind with their counts, and the last LIVE_KERNEL_MESSAGES lines with theirs.
// The privileged helper bounds what it sends up its pipe, and the host what it sends to the dashboard (bounding a
// bounded view keeps its counts).
import { DAMAGE_FIRST_RANGES, LIVE_KERNEL_MESSAGES, type IntegrityMessage, type LiveKernelLog, type LiveScrubProgress, type LiveScrubView } from '../api.js';

export function boundScrub(p: LiveScrubProgress | LiveScrubView): LiveScrubView {
  const counted = 'bad_range_count' in p ? p : null;
  return {
    ...p,
    bad_ranges: p.bad_ranges.slice(0, DAMAGE_FIRST_RANGES),
    read_error_ranges: p.read_error_ranges.slice(0, DAMAGE_FIRST_RANGES),
    kernel_messages: p.kernel_messages.slice(-LIVE_KERNEL_MESSAGES),
    bad_range_count: counted?.bad_range_count ?? p.bad_ranges.length,
    read_error_range_count: counted?.read_error_range_count ?? p.read_error_ranges.length,
    kernel_message_count: counted?.kernel_message_count ?? p.kernel_messages.length,
  };
}

export function boundLog(name: string, messages: IntegrityMessage[]): LiveKernelLog {
  return { name, messages: messages.slice(-LIVE_KERNEL_MESSAGES), total: messages.length };
}
