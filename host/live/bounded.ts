// What crosses the contract of a live scrub and of the kernel's log, bounded whatever was found: a failing disk can
// give a scrub a million bad ranges and the kernel thousands of lines; an event or an answer carries the first
// DAMAGE_FIRST_RANGES ranges of each kind with their counts, and the last LIVE_KERNEL_MESSAGES lines with theirs.
import { DAMAGE_FIRST_RANGES, LIVE_KERNEL_MESSAGES, type IntegrityMessage, type LiveKernelLog, type LiveScrubProgress, type LiveScrubView } from '../../engine/api.js';

export function boundScrub(p: LiveScrubProgress): LiveScrubView {
  return {
    ...p,
    bad_ranges: p.bad_ranges.slice(0, DAMAGE_FIRST_RANGES),
    read_error_ranges: p.read_error_ranges.slice(0, DAMAGE_FIRST_RANGES),
    kernel_messages: p.kernel_messages.slice(-LIVE_KERNEL_MESSAGES),
    bad_range_count: p.bad_ranges.length,
    read_error_range_count: p.read_error_ranges.length,
    kernel_message_count: p.kernel_messages.length,
  };
}

export function boundLog(name: string, messages: IntegrityMessage[]): LiveKernelLog {
  return { name, messages: messages.slice(-LIVE_KERNEL_MESSAGES), total: messages.length };
}
