import sys

from semlink.cli.main import main

sys.exit(main())
