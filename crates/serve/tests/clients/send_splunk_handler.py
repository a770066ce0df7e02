"""Sends N log records through the `splunk-handler` Python logging handler.

Usage: python send_splunk_handler.py HOST PORT TOKEN N
"""
import logging
import sys

from splunk_handler import SplunkHandler


def main():
    host, port, token, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    handler = SplunkHandler(
        host=host,
        port=port,
        token=token,
        index="main",
        sourcetype="cimhunt:python",
        source="python-test",
        hostname="py-host",
        protocol="http",
        verify=False,
        flush_interval=0,
        retry_count=0,
    )
    log = logging.getLogger("cimhunt-test")
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    for i in range(n):
        log.info("py-%d msiexec.exe /i http://x/%d.msi", i, i)
    handler.close()


if __name__ == "__main__":
    main()
