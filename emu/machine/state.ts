/**
 * What a machine snapshot asks of each component (vCPU, APIC, device, disk
 * overlay): its state as plain data, and a way to put it back. Pending clock
 * events are saved by the clock itself as (time, order, tag); a component
 * that schedules events gives each a tag naming what it is for, and on restore
 * hands back the callback for a tag — so events fire in the same order after
 * a restore as in a run that never stopped.
 *
 * A tag starts with its owner and a colon, which is how the machine finds the
 * owner again (Machine.eventOwner): `lapicN:`, `pit:`, `rtc:`, `uart3f8:`,
 * `input:`, and `NAME@SLOT:` for a disk's device model (e.g. `nvme@3:`).
 * Components that cancel events get the re-created clock handle via adopt().
 */
import type { ClockEvent } from './clock.js';

export type StateValue = number | string | boolean | null | Uint8Array | StateValue[] | { [key: string]: StateValue };

export interface Stateful {
  /** Everything that decides the component's future behaviour, as plain data (typed arrays as Uint8Array). */
  save(): StateValue;
  /** Reinstates what save() returned on a freshly built component; schedules nothing (the clock does). */
  restore(state: StateValue): void;
  /** The callback of a pending event this component scheduled with `tag`. */
  event?(tag: string): () => void;
  /** The clock's handle of an event re-created from `tag`, for a component that may cancel it. */
  adopt?(tag: string, e: ClockEvent): void;
}
