import sys

from load.scale.run import main

sys.exit(main())
