"""First names with relative weights by birth cohort, nicknames and titles.

Columns of the tables: ``name  weight_born_before_1965  weight_1965_1989  weight_1990_on``.
The weights are relative (roughly per mille of a cohort's births) and only their ratios matter.
"""

from __future__ import annotations

MALE = """
John 40 25 6
David 38 35 8
Michael 25 22 6
Peter 28 10 2
Robert 25 15 4
Paul 15 28 3
James 18 22 22
William 16 5 10
Richard 18 18 4
Stephen 14 18 2
Steven 3 10 1
Andrew 10 24 4
Mark 6 24 3
Christopher 6 22 7
Anthony 14 10 3
Thomas 10 10 20
Brian 15 2 0.2
Alan 15 4 0.3
Kevin 5 10 0.5
Ian 10 12 0.5
Gary 4 12 0.3
George 12 2 12
Kenneth 12 1 0.1
Daniel 2 10 18
Matthew 2 14 14
Simon 3 12 0.8
Martin 8 10 1
Graham 8 6 0.2
Keith 10 3 0.1
Colin 9 3 0.2
Roger 9 2 0.1
Raymond 10 2 0.2
Terence 8 1 0.1
Jason 0.5 10 1
Lee 1 9 1
Darren 0.2 9 0.5
Craig 0.5 8 1
Neil 4 8 0.5
Philip 9 8 1
Jonathan 3 10 3
Timothy 5 6 1
Nicholas 5 8 2
Adam 1 6 10
Benjamin 1 4 14
Samuel 1 3 14
Joseph 7 4 12
Jack 1 2 22
Oliver 0.5 1 24
Harry 2 1 18
Charlie 0.2 0.5 15
Charles 10 3 3
Jacob 0.2 0.5 10
Joshua 0.1 2 15
Luke 0.2 4 12
Ryan 0.1 4 10
Liam 0.1 3 9
Connor 0 1 7
Callum 0 1 7
Kieran 0 2 5
Jamie 0.5 5 5
Alexander 2 3 10
Edward 8 3 6
Henry 4 0.5 8
Alfie 0 0 10
Noah 0 0 12
Leo 0.2 0.2 10
Oscar 0.5 0.3 9
Archie 0.5 0.1 9
Ethan 0 0.2 10
Mason 0 0 6
Logan 0 0 6
Lewis 0.5 2 7
Dylan 0 0.5 7
Tyler 0 0.2 6
Max 0.2 0.5 7
Freddie 0 0 7
Arthur 5 0.3 6
Frederick 4 0.3 2
Albert 4 0.1 2
Alfred 4 0.1 1
Frank 6 0.5 1
Harold 5 0.1 0.2
Stanley 4 0.1 2
Ronald 8 1 0.1
Dennis 7 0.5 0.1
Derek 8 1 0.1
Trevor 7 2 0.1
Barry 7 3 0.1
Malcolm 6 2 0.1
Gordon 5 1 0.1
Roy 6 0.5 0.1
Leslie 5 0.5 0.1
Norman 6 0.3 0.1
Patrick 4 3 2
Sean 0.5 6 3
Shaun 0.2 4 1
Seán 0 0.3 0.3
Wayne 0.5 7 0.3
Dean 0.5 6 1
Scott 0.5 6 3
Stuart 2 6 1
Gareth 1 5 0.5
Rhys 0 1 4
Dafydd 0.5 0.5 0.5
Hamish 0.2 0.3 0.3
Iain 1 2 0.2
Duncan 1.5 1.5 0.3
Ross 0.5 3 2
Ciaran 0 0.5 1.5
Ciarán 0 0.1 0.4
Declan 0.1 0.5 1
Aaron 0.1 2 6
Nathan 0.1 2 7
Jordan 0 1 5
Bradley 0 1 5
Reece 0 0.3 3
Elliot 0 0.5 4
Toby 0.1 0.5 5
Theo 0 0 8
Joe 0.5 1 4
Sam 0.2 1 3
Ben 0.2 1 3
Tony 3 3 0.5
Mohammed 0.3 1 5
Muhammad 0.1 0.5 5
Mohammad 0.1 0.5 2
Adrian 2 4 1
Victor 2 0.5 0.5
Francis 3 1 0.5
Gerald 4 0.5 0.1
Geoffrey 6 0.5 0.1
Bernard 4 0.3 0.1
Douglas 3 1 0.3
Clive 3 2 0.1
Nigel 3 5 0.1
Howard 3 1 0.2
Russell 1 3 0.3
Carl 1 6 1
Karl 0.5 3 0.5
Jake 0 0.5 8
Isaac 0.2 0.2 5
Lucas 0 0.2 6
Finley 0 0 5
Harrison 0 0.1 5
Sebastian 0.1 0.3 4
Owen 0.5 1 5
Zachary 0 0.3 4
Louis 0.5 0.5 5
Kyle 0 2 3
Marcus 0.5 1.5 2
Jay 0 1 1.5
Lawrence 3 1 0.5
Dominic 0.5 2 2
Gavin 0.3 3 0.3
Jeremy 2 2 0.2
Julian 2 2 0.5
Vincent 2 1 0.5
Eric 6 0.5 0.3
Walter 4 0.1 0.3
Ernest 3 0.1 0.1
"""

FEMALE = """
Margaret 35 3 0.1
Susan 25 18 0.5
Patricia 22 5 0.2
Elizabeth 18 8 8
Mary 30 3 1
Sarah 4 32 10
Helen 10 18 2
Karen 3 22 0.5
Julie 3 22 0.5
Jennifer 6 6 4
Linda 18 6 0.1
Christine 18 5 0.1
Janet 20 3 0.1
Barbara 18 1 0.1
Jean 20 0.5 0.1
Joan 18 0.3 0.1
Sandra 12 10 0.1
Carol 14 6 0.1
Pauline 14 4 0.1
Valerie 10 1 0.1
Sheila 12 0.5 0.1
Brenda 10 1 0.1
Dorothy 10 0.2 0.1
Ann 14 3 0.2
Anne 14 4 0.5
Jacqueline 6 8 0.2
Gillian 6 8 0.2
Deborah 4 12 0.2
Tracey 0.5 14 0.1
Tracy 0.5 8 0.1
Lisa 0.5 16 1
Michelle 0.5 16 1
Claire 0.5 16 2
Nicola 0.5 16 1
Joanne 0.5 14 0.5
Amanda 1 14 0.5
Emma 0.5 14 12
Rachel 1 14 4
Rebecca 0.5 10 9
Catherine 6 10 3
Katherine 2 6 4
Kathryn 1 3 1
Caroline 3 10 1
Louise 2 10 3
Victoria 1 10 6
Laura 0.5 8 10
Kelly 0 10 2
Samantha 0.2 10 5
Hannah 0.3 3 12
Charlotte 0.5 3 14
Sophie 0.1 1 14
Jessica 0.1 2 12
Lauren 0 3 10
Amy 0.2 5 12
Chloe 0 0.5 12
Chloé 0 0.1 0.2
Emily 0.3 1 14
Olivia 0.1 0.3 15
Amelia 0.1 0.2 12
Isla 0 0 8
Ava 0 0 9
Mia 0 0.1 8
Grace 1 0.5 10
Lily 0.3 0.1 10
Ella 0.1 0.1 8
Evie 0 0 7
Poppy 0 0 7
Isabella 0.1 0.2 8
Isabelle 0 0.3 4
Freya 0 0.1 7
Megan 0 1 9
Holly 0 1 6
Georgia 0 0.5 6
Ellie 0 0.1 7
Lucy 0.5 3 9
Zoe 0.1 3 4
Zoë 0 0.5 0.5
Natalie 0.2 6 4
Kirsty 0 5 2
Gemma 0.1 6 2
Stacey 0 5 1
Leanne 0 5 0.5
Donna 0.5 6 0.2
Dawn 2 5 0.1
Alison 3 10 0.5
Angela 7 8 0.3
Diane 8 6 0.1
Wendy 6 3 0.1
Lesley 5 4 0.1
Elaine 6 5 0.1
Lorraine 3 5 0.1
Shirley 10 1 0.1
Irene 10 0.5 0.1
Doreen 8 0.1 0
Maureen 12 1 0
Eileen 10 0.5 0.1
Sylvia 8 0.5 0.1
Rosemary 6 1 0.1
Gwen 3 0.5 0.2
Siân 0.5 2 1
Bethan 0 1 2
Eilidh 0 0.2 1
Siobhan 0.2 2 1
Niamh 0 0.5 2.5
Aisling 0 0.2 0.8
Fiona 2 6 0.5
Heather 3 4 0.5
Jane 10 8 0.5
Judith 8 2 0.1
Joyce 8 0.2 0.1
Marion 6 0.5 0
Marie 3 5 1
Teresa 4 3 0.2
Alice 3 0.5 8
Florence 2 0.1 6
Ruby 1 0.2 8
Daisy 0.5 0.2 6
Phoebe 0.1 0.3 5
Sienna 0 0 5
Maisie 0 0 5
Millie 0 0.1 7
Abigail 0.1 1 6
Eleanor 2 1 6
Harriet 1 1 4
Anna 1 3 6
Ruth 6 3 0.5
Katie 0 2 6
Jade 0 2 6
Jasmine 0 0.5 6
Yasmin 0 0.5 2
Natasha 0.1 3 2
Danielle 0 4 3
Rachael 0.5 2 0.5
Jenny 1 1 0.5
Kate 1 2 1
Elsie 2 0.1 4
Edith 3 0.1 2
Ivy 1 0 4
Renée 0.2 0.3 0.2
Alexandra 1 3 4
Josephine 4 1 0.5
Pamela 8 2 0.1
Frances 5 1 0.5
Hazel 5 1 0.3
Vivienne 3 0.5 0.2
Beverley 2 5 0.1
Kim 1 5 0.5
Jill 4 2 0.1
Sally 4 4 0.3
"""

# Names for households whose surname is South Asian (Muslim or Hindu / Sikh naming traditions)
# or East European. Cohorts matter less here, so one weight per name.
MUSLIM_MALE = """
Mohammed 14
Muhammad 12
Mohammad 6
Ahmed 5
Ali 5
Imran 4
Hassan 3
Omar 4
Bilal 3
Usman 3
Amir 3
Zain 3
Yusuf 3
Ibrahim 3
Adam 2
Ayaan 2
Tariq 2
Kamran 2
Faisal 2
Asif 2
Abdul 3
Hamza 3
"""

MUSLIM_FEMALE = """
Fatima 8
Aisha 7
Ayesha 5
Zara 5
Maryam 5
Amina 4
Sana 3
Shabana 2
Nusrat 1.5
Parveen 2
Rukhsana 1.5
Noor 3
Hana 3
Zainab 3
Samina 2
Yasmin 2
Nadia 2
Saima 2
Iqra 2
Khadija 2
"""

HINDU_SIKH_MALE = """
Raj 3
Sanjay 3
Vijay 2
Arjun 3
Rohan 3
Amit 3
Rahul 3
Sunil 2
Harpreet 2
Gurpreet 2
Jaspreet 2
Manpreet 1.5
Kamal 1.5
Nikhil 1.5
Ravi 2
Ashok 2
Aryan 2
Rajesh 2
Deepak 2
Vikram 1.5
Sandeep 2
Jaswinder 1.5
Dev 1.5
Krishna 1
"""

HINDU_SIKH_FEMALE = """
Priya 5
Anjali 3
Neha 3
Pooja 3
Sunita 2
Asha 2
Nisha 3
Simran 3
Harpreet 2
Gurpreet 1.5
Jaspreet 1.5
Manpreet 1.5
Kiran 2
Sonia 2
Leela 1
Meera 2
Divya 2
Rani 1
Kavita 2
Rekha 1.5
Anita 2
Shreya 1.5
"""

EAST_EUROPEAN_MALE = """
Piotr 6
Tomasz 6
Łukasz 5
Krzysztof 5
Paweł 5
Michał 5
Marcin 5
Jakub 5
Kamil 4
Adam 4
Mateusz 4
Andrzej 3
Bartosz 3
Marek 3
Rafał 3
Dawid 3
Jan 3
Mariusz 2
Ionut 2
Andrei 3
Mihai 2
"""

EAST_EUROPEAN_FEMALE = """
Anna 7
Katarzyna 6
Małgorzata 4
Agnieszka 5
Magdalena 5
Joanna 5
Aleksandra 5
Monika 4
Natalia 4
Karolina 4
Ewa 3
Justyna 3
Paulina 3
Marta 3
Agata 3
Dorota 2
Ioana 2
Elena 3
Maria 3
"""
