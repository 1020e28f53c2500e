from fisioflow.cli import main

main()
