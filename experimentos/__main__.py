from experimentos.cli import main

main()
