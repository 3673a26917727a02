/** Which device model each `-drive if=` names. */
import type { BlockDeviceFactory, DriveInterface } from './drives.js';
import { createVirtioBlk } from './virtio-blk.js';
import { createNvme } from './nvme.js';

export const DEVICE_MODELS: Record<DriveInterface, BlockDeviceFactory> = { virtio: createVirtioBlk, nvme: createNvme };
