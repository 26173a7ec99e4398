#!/usr/bin/env python3
"""The soft IOC baton's EPICS tests and benchmark run against: a real EPICS 7 IOC (pythonSoftIOC).

Usage (the Rust harness in host/tests/epics/harness.rs does this):
    EPICS_CAS_INTF_ADDR_LIST=127.0.0.1 EPICS_CAS_SERVER_PORT=$P ... \
        .venv/bin/python tests/epics/ioc.py --prefix BT

Protocol with the harness:
  - stderr gets the line "STDERR-SYNC" right before stdout gets "READY", so the harness can be
    sure it has seen everything iocInit printed to stderr (a port collision prints
    "Configured TCP port was unavailable" there and the IOC would otherwise keep running);
  - the IOC exits when its stdin reaches EOF, so an IOC held by a test binary's static dies
    with the binary.

Records, all under the prefix (default "BT"):
  motors M1 (10 units/s), MX, MY, BRAGG, GAP (100 units/s): a put-callback on VAL completes
    when the move ends, like a motor record's: <M>:VAL (ao, blocking), <M>:RBV (ai, ramps at
    <M>:VELO units/s), <M>:DMOV (longin: 1 = done), <M>:VELO (ao), <M>:MOVES (moves completed).
    MX/MY/BRAGG/GAP are the end-to-end scans' axes (grid-scan, energy-scan)
  motor M2 (the put-callback completes at once; the readback follows M2:LAG seconds later):
    M2:VAL (ao), M2:RBV (ai), M2:DMOV (longin), M2:LAG (ao)
  detectors DET, GDET, EDET (areaDetector names; the put-callback on Acquire is held for
    AcquireTime): <D>:Acquire (bo Done/Acquire, blocking), <D>:AcquireTime (ao, s),
    <D>:ArrayCounter_RBV (longin), <D>:Busy (bi: 1 while acquiring),
    <D>:Finished (longin: the counter value at the moment the last acquisition finished).
    DET is the port tests'; GDET and EDET count the frames of the end-to-end scans
  access: RO:VAL (ao in access security group READONLY: a CA put is denied),
    DISABLED:VAL (ao with DISP=1: the IOC refuses CA puts, the put-callback fails)
  alarms: ALARM:NONE, ALARM:MINOR, ALARM:MAJOR, ALARM:INVALID (ai, value 99 in that severity);
    ALARM:E2E (MAJOR at 99, no alarm below 50: the end-to-end test clears it with a put)
  DBR mapping: T:DOUBLE (ao), T:LONG (longout), T:STRING (stringout), T:ENUM (mbbo
    Low/Mid/High), T:BOOL (bo Off/On), T:WAVE (waveform of 8 doubles, 3 used),
    T:WAVE_LONG (waveform of 4 longs)
  refused writes: BAD:DOUBLE, BAD:LONG, BAD:STRING, BAD:ENUM, BAD:WAVE (never changed)
  benchmark: BENCH:SP (a plain C `ao` whose OUT writes BENCH:RBV, processed), BENCH:RBV (a
    plain C `ai`); no Python runs when they process
  independent read-back: INDEP:SP and INDEP:RBV (like BENCH), INDEP:TEXT (stringout)
  catalog test: CAT:SP and CAT:RBV (like BENCH)
"""

import argparse
import asyncio
import os
import sys
import tempfile
import threading

from softioc import asyncio_dispatcher, builder, softioc
from softioc.builder import records
from epicscorelibs.ioc import dbCore
import ctypes

ACCESS_SECURITY = """
ASG(DEFAULT) {
    RULE(1, READ)
    RULE(1, WRITE)
}
ASG(READONLY) {
    RULE(1, READ)
}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="BT")
    args = parser.parse_args()

    dispatcher = asyncio_dispatcher.AsyncioDispatcher()
    builder.SetDeviceName(args.prefix)

    # Motors whose put-callback on VAL is held until the move ends (blocking=True makes the
    # IOC wait for the coroutine before it answers the put-callback), like a motor record's.
    def motor(name, velocity):
        rbv = builder.aIn(name + ":RBV", initial_value=0.0, PREC=4)
        dmov = builder.longIn(name + ":DMOV", initial_value=1)
        velo = builder.aOut(name + ":VELO", initial_value=velocity)
        moves = builder.longIn(name + ":MOVES", initial_value=0)

        async def move(target):
            dmov.set(0)
            start = rbv.get()
            steps = max(1, int(abs(target - start) / max(velo.get(), 1e-3) / 0.01))
            for i in range(1, steps + 1):
                await asyncio.sleep(0.01)
                rbv.set(start + (target - start) * i / steps)
            moves.set(moves.get() + 1)
            dmov.set(1)

        builder.aOut(name + ":VAL", initial_value=0.0, always_update=True, blocking=True,
                     on_update=move)

    motor("M1", 10.0)
    # The end-to-end scans' axes: grid-scan's X and Y, energy-scan's Bragg angle and gap.
    for name in ("MX", "MY", "BRAGG", "GAP"):
        motor(name, 100.0)

    # Motor M2: the put completes at once; the readback lags.
    m2_rbv = builder.aIn("M2:RBV", initial_value=0.0, PREC=4)
    m2_dmov = builder.longIn("M2:DMOV", initial_value=1)
    m2_lag = builder.aOut("M2:LAG", initial_value=0.2)

    async def move_m2(target):
        m2_dmov.set(0)
        await asyncio.sleep(max(m2_lag.get(), 0.0))
        m2_rbv.set(target)
        m2_dmov.set(1)

    builder.aOut("M2:VAL", initial_value=0.0, always_update=True, blocking=False,
                 on_update=move_m2)

    # Detectors: Acquire=1 holds the put-callback for AcquireTime, then counts one frame.
    def detector(name):
        time = builder.aOut(name + ":AcquireTime", initial_value=0.05, PREC=3)
        counter = builder.longIn(name + ":ArrayCounter_RBV", initial_value=0)
        busy = builder.boolIn(name + ":Busy", ZNAM="Idle", ONAM="Busy", initial_value=0)
        finished = builder.longIn(name + ":Finished", initial_value=0)
        record = None

        async def acquire(value):
            if not value:
                return
            busy.set(1)
            await asyncio.sleep(max(time.get(), 0.0))
            counter.set(counter.get() + 1)
            finished.set(counter.get())
            busy.set(0)
            # Acquire reads back Done once the frame is taken, as areaDetector's does; without
            # processing, so no second acquisition starts.
            dispatcher.loop.call_soon(lambda: record.set(0, process=False))

        record = builder.boolOut(name + ":Acquire", ZNAM="Done", ONAM="Acquire", initial_value=0,
                                 always_update=True, blocking=True, on_update=acquire)

    # DET for the port tests; GDET and EDET for the grid-scan and energy-scan conducts, which
    # run concurrently with them and count their own frames.
    for name in ("DET", "GDET", "EDET"):
        detector(name)

    # Access: a READONLY access security group, and a disabled record.
    builder.aOut("RO:VAL", initial_value=42.0, ASG="READONLY")
    builder.aOut("DISABLED:VAL", initial_value=7.0, DISP=1)

    # Alarms: plain C `ai` records whose limits put the value 99 in the named severity; PINI
    # processes them inside iocInit, so the severity is in place before READY.
    p = args.prefix + ":"
    records.ai("ALARM:NONE", VAL=99, UDF=0, PINI="YES")
    records.ai("ALARM:MINOR", VAL=99, UDF=0, PINI="YES", HIGH=50, HSV="MINOR")
    records.ai("ALARM:MAJOR", VAL=99, UDF=0, PINI="YES", HIHI=50, HHSV="MAJOR")
    records.ai("ALARM:INVALID", VAL=99, UDF=0, PINI="YES", HIHI=50, HHSV="INVALID")
    # The end-to-end hold test's own MAJOR alarm, which the test clears by writing 10 to VAL.
    records.ai("ALARM:E2E", VAL=99, UDF=0, PINI="YES", HIHI=50, HHSV="MAJOR")

    # DBR mapping.
    builder.aOut("T:DOUBLE", initial_value=1.5)
    builder.longOut("T:LONG", initial_value=-7)
    builder.stringOut("T:STRING", initial_value="hello")
    builder.mbbOut("T:ENUM", "Low", "Mid", "High", initial_value=1)
    builder.boolOut("T:BOOL", ZNAM="Off", ONAM="On", initial_value=1)
    builder.WaveformOut("T:WAVE", initial_value=[1.0, 2.0, 3.0], length=8, datatype=float)
    builder.WaveformOut("T:WAVE_LONG", initial_value=[1, 2, 3, 4], length=4, datatype=int)

    # Records the refused-writes test reads before and after (the round-trip test owns T:*).
    builder.aOut("BAD:DOUBLE", initial_value=0.5)
    builder.longOut("BAD:LONG", initial_value=3)
    builder.stringOut("BAD:STRING", initial_value="unchanged")
    builder.mbbOut("BAD:ENUM", "Low", "Mid", "High", initial_value=0)
    builder.WaveformOut("BAD:WAVE", initial_value=[9.0, 8.0], length=8, datatype=float)
    builder.stringOut("INDEP:TEXT", initial_value="")

    # Plain C records (no Python in processing): the benchmark's and the write-back test's PVs.
    records.ai("BENCH:RBV", PREC=4)
    records.ao("BENCH:SP", OUT=p + "BENCH:RBV PP", PREC=4, VAL=0, PINI="YES")
    records.ai("CAT:RBV", PREC=4)
    records.ao("CAT:SP", OUT=p + "CAT:RBV PP", PREC=4, VAL=0, PINI="YES")
    records.ai("INDEP:RBV", PREC=4)
    records.ao("INDEP:SP", OUT=p + "INDEP:RBV PP", PREC=4, VAL=0, PINI="YES")

    # Access security must be configured before iocInit.
    acf = tempfile.NamedTemporaryFile("w", suffix=".acf", delete=False)
    acf.write(ACCESS_SECURITY)
    acf.close()
    dbCore.asSetFilename.argtypes = [ctypes.c_char_p]
    if dbCore.asSetFilename(acf.name.encode()) != 0:
        sys.exit("asSetFilename failed")

    builder.LoadDatabase()
    softioc.iocInit(dispatcher, enable_pva=False)
    os.unlink(acf.name)

    def exit_on_stdin_eof():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    print("STDERR-SYNC", file=sys.stderr, flush=True)
    print("READY", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
