from nbprod.cli import main

main()
