"""Contract-faithful fakes of the MSP vendors' APIs, served on 127.0.0.1.

They power the tests and the sandbox (``msplex serve --demo``): real HTTP
servers that reproduce each vendor's authentication handshake, token expiry,
paging quirks, rate limiting and error bodies. The connectors never know a fake
from the vendor; only the base URL differs.
"""
