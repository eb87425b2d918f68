#!/usr/bin/env python3
"""A Bonjour SIP neighbour that nobody here wrote the mDNS of: python-zeroconf (Debian's
python3-zeroconf) announcing a `_sipuri._udp` service the way python-sipsimple's
BonjourAccount did (instance name = contact URI; TXT txtvers, name, contact, instance_id) on
one interface address, and browsing for the others. Scripted over stdio for
shared/tests/native_bonjour.rs:

    zeroconf_peer.py ADDRESS PORT USER DISPLAY_NAME

prints `ready`, then `found <contact from TXT> <name from TXT>` for each neighbour and
`removed <instance name>` when one goes; `quit` on stdin unregisters (a goodbye) and exits.
"""
import socket
import sys
import threading

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

SERVICE = "_sipuri._udp.local."


def say(line):
    print(line, flush=True)


def main():
    address, port, user, display = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    contact = f"sip:{user}@{address}:{port}"
    zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
    info = ServiceInfo(
        SERVICE,
        f"{contact}.{SERVICE}",
        addresses=[socket.inet_aton(address)],
        port=port,
        properties={
            "txtvers": "1",
            "name": display,
            "contact": f"<{contact}>",
            "instance_id": "8b1c9b5e-5a6f-4d3e-9c2a-0a1b2c3d4e5f",
        },
        server=f"{user}-zeroconf.local.",
    )
    lock = threading.Lock()

    def changed(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            with lock:
                say(f"removed {name}")
            return
        if state_change is not ServiceStateChange.Added:
            return
        found = zeroconf.get_service_info(service_type, name, timeout=3000)
        if found is None or name == info.name:
            return
        props = {k.decode(): (v or b"").decode() for k, v in found.properties.items()}
        with lock:
            say(f"found {props.get('contact', '').strip('<>')} {props.get('name', '')}")

    zc.register_service(info)
    browser = ServiceBrowser(zc, SERVICE, handlers=[changed])
    say("ready")
    for line in sys.stdin:
        if line.strip() == "quit":
            break
    browser.cancel()
    zc.unregister_service(info)
    zc.close()
    say("bye")


if __name__ == "__main__":
    main()
