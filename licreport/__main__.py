from licreport.cli import main

main()
