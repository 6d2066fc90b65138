"""Contract-faithful fakes of the MSP vendors' APIs: real HTTP servers on 127.0.0.1.

They power the tests and the sandbox (``msplex serve --demo``); the connectors never know they
exist (they are configured with a ``--base-url`` like any instance of the vendor).
"""
