from asyncrender.cli import main

main()
