import sys

from jupyter_deploy.cli import main

sys.exit(main())
