import sys

from civis_mcp.cli import main

sys.exit(main())
