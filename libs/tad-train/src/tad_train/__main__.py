"""``python -m tad_train`` (what ``torchrun ... -m tad_train train ...`` runs)."""

from tad_train.cli import main

raise SystemExit(main())
