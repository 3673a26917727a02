#!/usr/bin/env python3
"""Prints the PCI configuration space of QEMU 7.2's default virtio-blk-pci on `pc`
(device 00:03.0, as `-drive if=virtio` places it), read through QEMU's qtest
protocol with the CPUs stopped (-S), i.e. before SeaBIOS assigns BARs; then the
modern device configuration and feature words with BARs placed by hand.
test/machine/virtio-blk.test.ts compares the emulated device with the first dump.

    python3 test/machine/virtio-blk-qemu.py [qemu-system-x86_64]
"""
import os
import subprocess
import sys
import tempfile


class Qtest:
    def __init__(self, qemu, disk):
        self.p = subprocess.Popen(
            [qemu, '-machine', 'pc', '-display', 'none', '-net', 'none', '-serial', 'none', '-monitor', 'none',
             '-S', '-qtest', 'stdio', '-drive', f'file={disk},if=virtio,format=raw'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def cmd(self, line):
        self.p.stdin.write(line + '\n')
        self.p.stdin.flush()
        while True:
            reply = self.p.stdout.readline()
            if not reply:
                sys.exit('qemu exited')
            if reply.startswith(('OK', 'FAIL', 'ERR')):
                return reply.split()

    def value(self, line):
        return int(self.cmd(line)[1], 16)

    def config_read(self, dev, off):
        self.cmd(f'outl 0xcf8 0x{0x80000000 | (dev << 11) | off:x}')
        return self.value('inl 0xcfc')

    def config_write(self, dev, off, value):
        self.cmd(f'outl 0xcf8 0x{0x80000000 | (dev << 11) | off:x}')
        self.cmd(f'outl 0xcfc 0x{value:x}')

    def close(self):
        self.p.kill()


def main():
    qemu = sys.argv[1] if len(sys.argv) > 1 else 'qemu-system-x86_64'
    with tempfile.TemporaryDirectory() as d:
        disk = os.path.join(d, 'disk.img')
        with open(disk, 'wb') as f:
            f.truncate(1 << 20)
        q = Qtest(qemu, disk)
        config = b''.join(q.config_read(3, off).to_bytes(4, 'little') for off in range(0, 256, 4))
        for row in range(0, 0xb0, 16):
            print(f'{row:02x}: ' + ' '.join(f'{x:02x}' for x in config[row:row + 16]))
        q.config_write(3, 0x20, 0xfe000000)
        q.config_write(3, 0x24, 0)
        q.config_write(3, 0x04, 0x7)
        features = []
        for sel in (0, 1):
            q.cmd(f'writel 0xfe000000 {sel}')
            features.append(q.value('readl 0xfe000004'))
        print('device features (modern): ' + ' '.join(f'0x{w:08x}' for w in features))
        print('device config: ' + ' '.join(f'0x{q.value(f"readl 0x{0xfe002000 + o:x}"):x}' for o in range(0, 0x3c, 4)))
        q.close()


main()
