from fakevoice.cli import main

raise SystemExit(main())
